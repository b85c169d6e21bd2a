"""Checking builder keyword arguments (`create_model(name, **kwargs)`, `--model-kwargs`).

A registered model is built by its builder (`i_mobilenetv2`, `light_ntwrn`,
`keras_application`) from the entry's fixed arguments and the user's overrides. An override the
builder does not take is refused by name before anything is built or written, with the builder's
arguments listed (for the `keras.applications` baselines: the wrapper's and the application's).
"""

from fer_keras.options import check_options

# Filled in from the data or the registry, never by the user's overrides.
_NOT_OPTIONS = ("input_shape", "num_classes", "name")


def builder_functions(name):
    """The callables whose keyword parameters the model `name` accepts."""
    from fer_keras.models.baselines import APPLICATIONS, keras_application
    from fer_keras.models.registry import get_entry

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
