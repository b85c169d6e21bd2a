"""``python -m fer_keras.benchmark``: speed of the models on this machine, beside its ceilings.

    python -m fer_keras.benchmark                      # i_mobilenetv2, light_ntwrn, keras_mobilenetv2
    python -m fer_keras.benchmark --models light_ntwrn --repeats 5 --json perf.json
    python -m fer_keras.benchmark --tiny               # tiny widths, 1-2 repeats (the smoke test)
    python -m fer_keras.benchmark --training           # training engines only (images/s)
    python -m fer_keras.benchmark --training --tiny    # the same in seconds (tests)
    python -m fer_keras.benchmark --deploy             # keras form / deploy form / int8 (TFLite)
    python -m fer_keras.benchmark --deploy --profile-ops   # and which ops take the time
    python -m fer_keras.benchmark --end-to-end         # photo / video to labels, beside `fer`

For each model: parameters, float32 size and multiply-adds per image (counted by
:func:`fer_keras.models.model_summary`), training throughput at the preset batch size (FER2013
presets: I-MobileNetV2 32, Light-NTWRN 30), inference throughput at batch 256, batch-1 latency
through the compiled Keras predict function, the SavedModel, and TFLite float32 and int8 (the
full-integer model `export` ships, converted by the same function) on one thread; plus the tf.data pipeline's throughput (:mod:`fer_keras.data.throughput`).

The machine's own ceilings are measured in the same run, so that a busy or slow machine shows as
lower ceilings rather than as slower models:

- ``conv1x1_gmacs``: GMAC/s of a large 1x1 convolution through the same compiled predict path;
- ``memcpy_gbs``: memory copy bandwidth (bytes read + written per second, numpy copy);
- ``tflite_gmacs``: the MAC rate TFLite float32 reaches on ``keras.applications.MobileNetV2``
  at the same input size, one thread.

Each ceiling is measured at the start and at the end of the run and the higher kept (both are
in the JSON), since a shared machine can be busy at either moment.

Each model's figures are then given as fractions of them: training and batch-256 inference
GMAC/s over ``conv1x1_gmacs`` (training counted as three times the forward multiply-adds:
forward, input gradient, weight gradient), and the TFLite latency over the latency its
multiply-adds predict at ``tflite_gmacs`` (1.0 means "as efficient as MobileNetV2"; the target is
at most 1.5). Every time is the median of ``repeats`` timings after warm-up; the load average
before and after the run is recorded, since the figures are only as good as the machine was quiet.

``--training`` runs the training section instead (:mod:`fer_keras.benchmark.training_speed`): images/s
of i_mobilenetv2 and light_ntwrn (or ``--models``) on a CK+-sized fold at batch 20 for the raw
``train_on_batch`` step, engine "loop", engine "fit" (TensorFlow) and the JAX device engine with
one and with K models together, a row per backend (the JAX rows from a child process under
``KERAS_BACKEND=jax`` when this one runs TensorFlow), each beside its share of the 1x1 ceiling.

Parts that need TensorFlow (SavedModel, TFLite, tf.data) are reported as ``None`` with a reason
under another backend or without TensorFlow installed.

Modules: ``timing`` (settings, medians, random images), ``tflite_timing`` (the shipped TFLite
conversions and their latency), ``ceilings``, ``model_speed`` (one model, the data pipeline),
``suite`` (the whole run), ``report`` (the Markdown table), ``end_to_end`` (``--end-to-end``: a
photo of six held-out faces and a panned video to labels through `Predictor`, Haar and MTCNN,
beside the ``fer`` package's pipeline when it can be imported), ``deploy_speed`` (``--deploy``:
I-MobileNetV2 and Light-NTWRN TFLite before and after their deploy form and I-MobileNetV2's
full-integer int8, beside keras MobileNetV2 1.0, in interleaved rounds), ``op_profile`` (LiteRT's
op profiler through its C API) and ``deploy_profile`` (the operators and blocks that take the
time, when I-MobileNetV2 is the slower or with ``--profile-ops``) and ``cli``.
"""

from fer_keras.benchmark.ceilings import (  # noqa: F401 - the public API in one place
    conv1x1_ceiling,
    machine_ceilings,
    memcpy_ceiling,
    tflite_ceiling,
)
from fer_keras.benchmark.cli import main  # noqa: F401
from fer_keras.benchmark.model_speed import (  # noqa: F401
    benchmark_model,
    build,
    fractions,
    pipeline_throughput,
    train_batch_size,
    training_throughput,
)
from fer_keras.benchmark.report import format_markdown  # noqa: F401
from fer_keras.benchmark.suite import run  # noqa: F401
from fer_keras.benchmark.timing import (  # noqa: F401
    DEFAULT_MODELS, INFERENCE_BATCH, INPUT_SHAPE, NUM_CLASSES, TINY_KWARGS, compile_kwargs, images,
    median_time, tensorflow_available,
)
from fer_keras.benchmark.tflite_timing import tflite_bytes, tflite_latency  # noqa: F401
