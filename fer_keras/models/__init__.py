"""The papers' models, their ablation variants and ``keras.applications`` baselines.

    import fer_keras.models
    fer_keras.models.list_models()                        # no Keras import
    model = fer_keras.models.create_model("light_ntwrn", input_shape=(48, 48, 1))

Every name is imported on first use (`fer_keras.lazy`): listing the registered models, their
options and their papers' figures needs no Keras; building one imports it (and Keras's loader
knows the custom layers from then on: `fer_keras.registration`). The builders live in
`fer_keras.models.builders`, one module per architecture.
"""

from fer_keras.lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {
    "i_mobilenetv2": "fer_keras.models.builders.i_mobilenetv2:i_mobilenetv2",
    "light_ntwrn": "fer_keras.models.builders.light_ntwrn:light_ntwrn",
    "keras_application": "fer_keras.models.baselines",
    **{name: "fer_keras.models.complexity" for name in ("count_macs", "model_summary")},
    **{name: "fer_keras.models.registry"
       for name in ("ModelEntry", "create_model", "get_entry", "list_models", "register_model")},
})

__all__ = [
    "ModelEntry",
    "count_macs",
    "create_model",
    "get_entry",
    "i_mobilenetv2",
    "keras_application",
    "light_ntwrn",
    "list_models",
    "model_summary",
    "register_model",
]
