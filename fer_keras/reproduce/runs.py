"""The tables' experiments, and the runs found in study folders with their identity.

A run's identity (dataset, table row, protocol, protocol options, seed, fold) is read from its
`metrics.json` (and the run's `config.json` beside its folds), never from folder names: a row is
the table row whose model and training overrides the run's configuration matches (WRN and WRN+RE
train the same model, with flips or with erasing).
"""

import functools
import inspect
import json
from pathlib import Path

from fer_keras import papers

# {table name: Table}, read from the papers' declarations (fer_keras/papers/).
TABLES = papers.LiveView(papers.tables)


def experiments():
    """(table, row, dataset, protocol) of every cell of every table."""
    return [(t, r, d, p) for t in TABLES.values() for r in t.rows
            for d, protocols in t.protocols.items() for p in dict.fromkeys(protocols)]


def headline_rows():
    """(table, row) of each paper's own model: the last row of each table."""
    return [(t, t.rows[-1]) for t in TABLES.values()]


@functools.lru_cache(maxsize=None)
def option_defaults(protocol):
    """{option: default} of a protocol's keyword options ({} for an unknown protocol)."""
    from fer_keras.data.protocols import PROTOCOLS

    if protocol not in PROTOCOLS:
        return {}
    parameters = inspect.signature(PROTOCOLS[protocol][0]).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def options_key(protocol, options):
    """The protocol options that differ from the protocol's defaults, as "k=v, k=v" ("" when
    none): runs with equal keys are one experiment."""
    defaults = option_defaults(protocol)
    chosen = {k: v for k, v in sorted((options or {}).items()) if defaults.get(k, object()) != v}
    return ", ".join(f"{k}={v}" for k, v in chosen.items())


def _config(metrics, run_dir):
    """The run's configuration: metrics.json's copy, else the run folder's config.json."""
    if "config" in metrics:
        return metrics["config"]
    path = Path(run_dir) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def row_of(metrics, config):
    """(table, row) that a run trained, or None when no table has it: the row with the run's model
    and dataset whose overrides the run's configuration matches, in a table that reports the
    run's protocol on that dataset (its paper protocol, leakage-free one or papers' practice)."""
    dataset, protocol = metrics.get("dataset"), metrics.get("protocol")
    cells = [(t, r) for t in TABLES.values() if protocol in _reported(t, dataset)
             for r in t.rows if r.model == metrics.get("model")]
    if len(cells) > 1:
        cells = [(t, r) for t, r in cells
                 if all(config.get(k) == v for k, v in r.overrides.items())]
    return cells[0] if len(cells) == 1 else None


def _reported(table, dataset):
    """The protocols `table` reports on `dataset` (none when it has no such column)."""
    practice = table.practice.get(dataset)
    return set(table.protocols.get(dataset, ())) | ({practice.protocol} if practice else set())


def identity(metrics, run_dir, every=False):
    """(dataset, row key, protocol, options key) of a run's fold; None outside the tables, or
    with `every` the model's name in place of the row key."""
    config = _config(metrics, run_dir)
    cell = row_of(metrics, config)
    if cell is None and not (every and {"dataset", "model", "protocol"} <= set(metrics)):
        return None
    protocol = metrics["protocol"]
    options = options_key(protocol, config.get("protocol_options", {}))
    return metrics["dataset"], metrics["model"] if cell is None else cell[1].key, protocol, options


def collect(study_dirs, options=False, every=False):
    """{(dataset, row key, protocol): [fold metrics...]} of the tables' runs with default protocol
    options in `study_dirs`; with `options`, every such run keyed (dataset, row, protocol,
    options key); with `every` also runs outside the tables (keyed by model name)."""
    found = {}
    for study in study_dirs:
        for metrics_path in sorted(Path(study).glob("*/fold_*/metrics.json")):
            m = json.loads(metrics_path.read_text())
            key = identity(m, metrics_path.parent.parent, every)
            if key is None or (not options and key[3]):
                continue
            m["_run"] = str(metrics_path.parent)
            found.setdefault(key if options else key[:3], []).append(m)
    return found
