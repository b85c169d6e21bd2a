"""The papers' tables, declared once per paper (`i_mobilenetv2.py`, `light_ntwrn.py`).

Everything that names a paper row is read from here: the model registry
(`fer_keras.models.list_models`), the presets (`fer_keras.presets.PRESETS`), the reproduction
tables (`fer_keras.reproduce.TABLES`), the notebooks' table labels
(`fer_keras.plots.TABLE_NAMES`) and each model family's builder and small widths (`families()`:
the registry's builders, `fer_keras.benchmark.TINY_KWARGS`, `fer_keras.notebook.short_run_kwargs`,
the synthetic-demo presets). Those are live views: a paper added with `declare` (for good)
or `declared` (inside a `with` block, as the tests do) shows up in all of them at once.
"""

import collections.abc
import contextlib

from fer_keras.papers import demo, i_mobilenetv2, light_ntwrn
from fer_keras.papers.schema import Family, Paper, Practice, Preset, Row, Table, Variant

PAPERS = [i_mobilenetv2.PAPER, light_ntwrn.PAPER, demo.PAPER]


def declare(paper):
    """Adds a `Paper`; its variant, table, preset and family names must be new."""
    taken = {v.name for p in PAPERS for v in p.all_variants()}
    clash = taken & {v.name for v in paper.all_variants()}
    clash |= set(families()) & {f.name for f in paper.families}
    clash |= {t.name for p in PAPERS for t in p.tables} & {t.name for t in paper.tables}
    clash |= {"/".join(k) for p in PAPERS for k in p.presets} & {"/".join(k) for k in paper.presets}
    if clash:
        raise ValueError(f"already declared: {', '.join(sorted(clash))}")
    PAPERS.append(paper)


@contextlib.contextmanager
def declared(paper):
    """`with declared(paper):` the paper's rows, variants and presets exist, then are gone."""
    declare(paper)
    try:
        yield paper
    finally:
        PAPERS.remove(paper)


def variants():
    """Every declared `Variant`: the table rows' in paper order, then the comparison baselines:
    first those of the paper that declares their family's presets (Light-NTWRN's Table 6: they
    train with its Table 4 setup), then the other papers', then those of no paper's table."""
    rows = [r.variant for p in PAPERS for t in p.tables for r in t.rows if r.variant]
    others = [(p, v) for p in PAPERS for v in p.variants]
    others.sort(key=lambda pv: (not pv[0].tables,
                                not any(f == pv[1].family for f, _ in pv[0].presets)))
    return rows + [v for _, v in others]


def tables():
    """{table name: Table} of every paper, in paper order."""
    return {t.name: t for p in PAPERS for t in p.tables}


def families():
    """{family name: Family} of every paper, in paper order."""
    return {f.name: f for p in PAPERS for f in p.families}


def presets():
    """{(family, dataset): Preset} of every paper, in paper order, then the synthetic-demo preset
    of every family that declares none of its own (`demo.synthetic_presets`)."""
    declared = {key: preset for p in PAPERS for key, preset in p.presets.items()}
    demos = demo.synthetic_presets(families().values())
    return {**declared, **{k: v for k, v in demos.items() if k not in declared}}


def table_names():
    """{family: the display name of its table} (notebook labels), from the `Family` records."""
    return {f.name: f.table for f in families().values() if f.table}


def display_name(model):
    """The display name of the table whose row declares `model` ("Light-NTWRN Table 5"), else
    the paper's name of a comparison baseline, else None."""
    for p in PAPERS:
        for t in p.tables:
            if any(r.variant and r.variant.name == model for r in t.rows):
                return t.display or t.name
        if any(v.name == model for v in p.variants):
            return p.name
    return None


class LiveView(collections.abc.Mapping):
    """A read-only mapping rebuilt from the declarations on every access (they are small), so
    that module-level names such as `PRESETS` follow `declare`."""

    def __init__(self, build):
        self._build = build

    def __getitem__(self, key):
        return self._build()[key]

    def __iter__(self):
        return iter(self._build())

    def __len__(self):
        return len(self._build())

    def __repr__(self):
        return repr(self._build())


__all__ = ["PAPERS", "Family", "LiveView", "Paper", "Practice", "Preset", "Row", "Table",
           "Variant", "declare", "declared", "display_name", "families", "presets", "table_names",
           "tables", "variants"]
