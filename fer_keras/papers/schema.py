"""What a paper declares: its model variants, its tables' rows, its training presets.

A paper file (`fer_keras/papers/i_mobilenetv2.py`, `light_ntwrn.py`) states each fact once, with
these dataclasses; the model registry (`fer_keras.models.registry`), the presets
(`fer_keras.presets`), the reproduction tables (`fer_keras.reproduce.TABLES`) and the notebooks'
labels (`fer_keras.plots.TABLE_NAMES`) are all read from them (`fer_keras.papers`). Nothing here
imports Keras: a variant names its builder by family ("i_mobilenetv2", "light_ntwrn",
"baseline"), and the family's `Family` record names the builder function by its import path.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family, declared once beside its paper: its builder and the arguments that make
    its variants small.

    - `builder`: the builder function as "module:function" (imported by the model registry, so
      that this record stays Keras-free).
    - `table`: the display name of the family's table in the notebooks' figures
      ("I-MobileNetV2 Table 2"); empty for a family that no table of its own ablates.
    - `tiny_kwargs`: builder overrides for smoke tests and benchmarks (every block type, a
      fraction of the cost: `fer_keras.benchmark.TINY_KWARGS`).
    - `narrow_kwargs`: builder overrides for short CPU runs (the ablation notebook:
      `fer_keras.notebook.short_run_kwargs`).
    - `narrow_scale`: {builder argument: factor} for short runs, applied to the variant's own
      value (else the builder's default), so that the rows keep their differences: I-MobileNetV2's
      {"alpha": 0.5} halves each row's width multiplier (1.0 -> 0.5, 0.75 -> 0.375).
    - `demo_kwargs`: the `model_kwargs` of the family's synthetic-demo preset
      (`fer_keras/papers/demo.py`); empty for the builder's defaults.
    """

    name: str
    builder: str
    table: str = ""
    tiny_kwargs: dict = dataclasses.field(default_factory=dict)
    narrow_kwargs: dict = dataclasses.field(default_factory=dict)
    narrow_scale: dict = dataclasses.field(default_factory=dict)
    demo_kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Variant:
    """A registered model: a builder family, fixed builder arguments and the paper's size figure.

    `row` is the paper row it reproduces as `python -m fer_keras.models` prints it; `gap` says why
    its size differs from the paper's `paper_params`.
    """

    name: str
    family: str
    kwargs: dict
    row: str
    paper_params: str
    description: str
    gap: str = ""


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a paper table: a registered model plus training overrides, and its figures.

    `paper` holds the accuracy (%) the paper reports per dataset; `variant`, when given, declares
    the model this row introduces (then `model` is its name).
    """

    key: str
    label: str
    model: str
    paper: dict
    overrides: dict = dataclasses.field(default_factory=dict)
    variant: Variant = None


@dataclasses.dataclass(frozen=True)
class Practice:
    """How a paper obtained its figure on a dataset (issue 17): a protocol with options that
    reproduce its leaky split, reported by the peak test accuracy over epochs (optimistic)."""

    protocol: str
    options: dict
    source: str


@dataclasses.dataclass(frozen=True)
class Table:
    """A paper table: rows, and per dataset (paper protocol, leakage-free protocol).

    `display` is the table's short name in the notebooks' figures ("I-MobileNetV2 Table 2");
    `practice` maps a dataset to the papers' practice on it (`Practice`).
    """

    name: str
    title: str
    paper: str
    rows: tuple
    protocols: dict
    note: str = ""
    display: str = ""
    practice: dict = dataclasses.field(default_factory=dict)

    def row(self, key):
        for r in self.rows:
            if r.key == key:
                return r
        raise ValueError(f"table {self.name} has no row {key!r}; rows: "
                         f"{', '.join(r.key for r in self.rows)}")


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named training setup: `values` for the TrainConfig fields it sets, and its source."""

    name: str
    values: dict
    source: str


@dataclasses.dataclass(frozen=True)
class Paper:
    """Everything one paper contributes: its tables (whose rows declare most variants), the
    variants no reproduced table row trains (comparison baselines), its presets, keyed by
    (family, dataset), and the model families it introduces (`Family`)."""

    name: str
    tables: tuple = ()
    variants: tuple = ()
    presets: dict = dataclasses.field(default_factory=dict)
    families: tuple = ()

    def all_variants(self):
        """The variants the table rows declare, in row order, then `variants`."""
        declared = [r.variant for t in self.tables for r in t.rows if r.variant is not None]
        return declared + list(self.variants)


def preset_family(family, values, sources):
    """{(family, dataset): Preset} from {dataset: values} and {dataset: source text}."""
    return {(family, d): Preset(f"{family}/{d}", dict(v), sources[d]) for d, v in values.items()}
