"""Deployment artifacts: the one SavedModel writer, the TFLite converters, and the checked export.

Modules: `saved_model` (`write_saved_model`: the serving signature and the embedded class
names, each weight stored once), `tflite_convert` (`convert_tflite`: float32, dynamic-range and
full-integer int8 models, builtin ops only), `deploy_form` (the inference rewrite, with
`folding`'s BN and scale folding), `int8_elu` (ELU as an int8 op), `checks` (agreement with the
Keras model, latency) and `exporter` (`export`: every format written and checked, behind
`python -m fer_keras.export`). The training loop, `export` and `benchmark` all write through these, so the benchmark times the
models `export` ships. Importing this package imports neither Keras nor TensorFlow.
"""

from fer_keras.deployment.tflite_convert import TFLITE_FILES, TFLITE_MODES

__all__ = ["TFLITE_FILES", "TFLITE_MODES"]
