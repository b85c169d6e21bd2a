"""Every named variant, discoverable with :func:`list_models` and built by :func:`create_model`.

The variants are declared with the papers' table rows (`fer_keras/papers/`): each names the row
it reproduces and the parameter figure that row reports, so the comparison table
(``python -m fer_keras.models``) and the tests iterate over one list. `register_model` adds a
variant of your own beside them. Listing and checking entries imports no Keras: a builder is
imported when a model is built (`ModelEntry.builder`).
"""

import dataclasses
import importlib

from fer_keras import papers
from fer_keras.options import check_options


def _import(path):
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def family_builder(family):
    """The builder function of a family name, imported from its `Family.builder`
    ("module:function", declared with its paper in `fer_keras/papers/`)."""
    return _import(papers.families()[family].builder)


# {family: builder function}, from the families' declarations.
BUILDERS = papers.LiveView(lambda: {name: family_builder(name) for name in papers.families()})


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered variant: its builder, fixed arguments and the paper's figures for it.

    `source` is the builder function, or its "module:function" path (a paper's variants), which
    `builder` imports on first use.
    """

    name: str
    source: object
    kwargs: dict
    paper: str
    row: str
    paper_params: str
    description: str
    family: str
    gap: str = ""

    @property
    def builder(self):
        return _import(self.source) if isinstance(self.source, str) else self.source

    def build(self, **overrides):
        kwargs = {**self.kwargs, **overrides}
        kwargs.setdefault("name", self.name)
        return self.builder(**kwargs)


_EXTRA = {}  # variants added with register_model, after the papers' own


def _entries():
    """{name: ModelEntry}: the papers' declared variants, then those of `register_model`."""
    entries = {}
    for paper in papers.PAPERS:
        for v in paper.all_variants():
            entries[v.name] = ModelEntry(v.name, papers.families()[v.family].builder,
                                         dict(v.kwargs),
                                         paper.name, v.row, v.paper_params, v.description,
                                         v.family, v.gap)
    order = [v.name for v in papers.variants()]
    return {**{name: entries[name] for name in order}, **_EXTRA}


def register_model(name, builder, kwargs, paper, row, paper_params, description, family,
                   gap=""):
    """Adds a variant that no paper declares; ``gap`` says why its size differs from the paper's
    figure. A paper's own rows are declared in `fer_keras/papers/` instead."""
    if name in _entries():
        raise ValueError(f"Model {name!r} is already registered.")
    _EXTRA[name] = ModelEntry(name, builder, dict(kwargs), paper, row, paper_params,
                              description, family, gap)


def list_models(family=None):
    """Names of the registered models, in declaration order (``family``: a builder's name)."""
    return [n for n, e in _entries().items() if family is None or e.family == family]


def get_entry(name):
    entries = _entries()
    if name not in entries:
        raise ValueError(f"Unknown model {name!r}; registered models: {list(entries)}.")
    return entries[name]


def create_model(name, weights=None, **kwargs):
    """Builds the registered model ``name``; keyword arguments override its defaults.

    ``weights``: None, a published model's dataset or name, or a ``.keras`` / ``.weights.h5``
    path (:mod:`fer_keras.pretrained`). A keyword the builder does not take is a ValueError
    naming it and the accepted ones. Example:
    ``create_model("i_mobilenetv2", input_shape=(48, 48, 1), num_classes=7)``.
    """
    check_model_kwargs(name, kwargs, shape_args=True)
    return get_entry(name).build(weights=weights, **kwargs)


# Filled in from the data or the registry, never by the user's overrides.
_NOT_OPTIONS = ("input_shape", "num_classes", "name")


def builder_functions(name):
    """The callables whose keyword parameters the model `name` accepts."""
    from fer_keras.models.baselines import APPLICATIONS, keras_application

    entry = get_entry(name)
    if entry.builder is keras_application:
        import keras

        application = entry.kwargs.get("application", "keras_mobilenetv2")
        return (keras_application, getattr(keras.applications, APPLICATIONS[application]))
    return (entry.builder,)


def check_model_kwargs(name, kwargs, shape_args=False):
    """Raises ValueError naming every key of `kwargs` the model `name`'s builder does not take.

    `shape_args=True` also accepts input_shape, num_classes and name (`create_model`'s
    arguments); a configuration's `model_kwargs` may not set them (the data does).
    """
    skip = ("application", "include_top", "weights", "pooling", "classes", "input_tensor")
    if not shape_args:
        skip += _NOT_OPTIONS
    check_options(kwargs or {}, builder_functions(name), f"model {name!r}", skip=skip)
