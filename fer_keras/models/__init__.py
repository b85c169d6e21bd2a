"""The papers' models, their ablation variants and ``keras.applications`` baselines.

Importing this package imports Keras and registers the custom layers, except while
``python -m fer_keras.models`` locates its ``__main__`` (``sys.argv[0]`` is then "-m"): the
command imports them itself once its flags are parsed, so that ``--help`` answers at once and
TensorFlow's start-up logs are filtered (fer_keras.console).
"""

import sys

if sys.argv[:1] != ["-m"]:
    from fer_keras.models.baselines import keras_application
    from fer_keras.models.complexity import count_macs, model_summary
    from fer_keras.models.i_mobilenetv2 import i_mobilenetv2
    from fer_keras.models.light_ntwrn import light_ntwrn
    from fer_keras.models.registry import (
        ModelEntry,
        create_model,
        get_entry,
        list_models,
        register_model,
    )

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
