"""Training throughput of the engines (`python -m fer_keras.benchmark --training`).

For each model, on a CK+-sized fold (783 synthetic 48x48 grey training images fed as 3 channels,
flip augmentation, the CK+ preset's optimizer) at batch 20, images/s of:

- ``raw step``: `train_on_batch` on one fixed batch, repeated (no data pipeline, no bookkeeping):
  the ceiling of a Python call per step;
- ``loop``: engine "loop" (today's per-step loop: the epoch's `tf.data` batches under
  TensorFlow, one `train_on_batch` call and one loss read per step, class-weight lookup);
- ``fit``: engine "fit" (`fer_keras.training.tf_fit`: one `model.fit` per epoch over `tf.data`,
  `STEPS_PER_EXECUTION` steps per call); TensorFlow only;
- ``device``: the JAX device-resident engine with one model and with K models trained together
  (`fer_keras.training.jax_engine.engine_throughput`), in a subprocess with `KERAS_BACKEND=jax`
  when this process runs TensorFlow; a row with a note when that engine is not importable.

Each figure is the second epoch's rate (the first traces and compiles), given beside the share
of the machine's 1x1-convolution ceiling it reaches (`benchmark.conv1x1_ceiling`, measured in the
same process and backend; training counted as three times the forward multiply-adds).
Validation and checkpoint writing are not included: they cost the same for every engine.

Then a real fold (`fold_section`, where ../shared/data/ckplus exists): I-MobileNetV2 on CK+
fold 0 trained through `keras_engine.train_fold`, the code behind `python -m fer_keras.train`
(whole epochs: pipeline, steps, validation, the finiteness check, best weights, checkpoint,
history.csv, TensorBoard), each epoch followed by the raw step for as many steps, so both see
the same load; per epoch the two rates, their ratio and the seconds of each part (issue 32,
item 5: train / raw >= 0.85).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MODELS = ("i_mobilenetv2", "light_ntwrn")
TRAIN_EXAMPLES = 783  # one CK+ subject_kfold fold's training split
BATCH_SIZE = 20  # the CK+ presets' batch
NUM_MODELS = 10  # the folds of a CK+ protocol, trained together by the device engine


def _fold(num_examples):
    from fer_keras.data import load_dataset

    ds = load_dataset("synthetic", num_examples=num_examples, image_size=48)
    return ds, np.arange(num_examples)


def _trainer(name, batch_size, model_kwargs, steps):
    import keras

    from fer_keras.models import create_model
    from fer_keras.training import model_setup
    from fer_keras.training.config import resolve_config
    from fer_keras.training.optimizers import make_optimizer

    config = resolve_config("ckplus", name, batch_size=batch_size, augment="flip",
                            model_kwargs=dict(model_kwargs or {}))
    keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=(48, 48, 3), num_classes=7, **config.model_kwargs)
    trainer = model_setup.logits_model(model)
    trainer.compile(optimizer=make_optimizer(config, steps),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"], jit_compile=False)
    return config, model, trainer


def _timed(fn, epochs=2):
    """Seconds of the last of `epochs` calls of `fn(epoch)` (the first traces and compiles)."""
    for epoch in range(epochs):
        start = time.perf_counter()
        fn(epoch)
        seconds = time.perf_counter() - start
    return seconds


def epoch_functions(name, batch_size=BATCH_SIZE, num_examples=TRAIN_EXAMPLES, model_kwargs=None):
    """({engine: fn(epoch)}, images per epoch): one model and trainer behind every engine.

    "raw" repeats `train_on_batch` on one fixed batch for an epoch's steps; under TensorFlow,
    "loop" is engine loop's per-step epoch over the `tf.data` batches and "fit" engine fit's
    `model.fit` epoch (`scripts/ab_loop_fit.py` interleaves these two).
    """
    import keras

    from fer_keras.data import iterate_batches, make_tf_dataset
    from fer_keras.training import keras_engine, tf_fit

    ds, indices = _fold(num_examples)
    steps = tf_fit.num_steps(len(indices), batch_size)
    config, _, trainer = _trainer(name, batch_size, model_kwargs, steps)
    # The fixed batch of the raw step: NumPy (no TensorFlow needed under JAX).
    x, y = next(iter(iterate_batches(ds, indices[:batch_size], batch_size, training=True)))
    x, y = np.asarray(x), np.asarray(y)

    def raw(epoch):
        for _ in range(steps):
            keras_engine.train_step(trainer, x, y, None)

    functions = {"raw": raw}
    if keras.backend.backend() == "tensorflow":
        def per_step(epoch):
            for xb, yb in make_tf_dataset(ds, indices, batch_size, training=True,
                                          augment="flip", seed=0, epoch=epoch):
                keras_engine.train_step(trainer, xb, np.asarray(yb), None)

        def fit(epoch):
            tf_fit.fit_epoch(trainer, config, ds, indices, epoch, None, Path(os.devnull), 0.0)

        functions.update(loop=per_step, fit=fit)
    return functions, steps * batch_size


def engine_rates(name, batch_size=BATCH_SIZE, num_examples=TRAIN_EXAMPLES, model_kwargs=None):
    """{"raw": .., "loop": .., "fit": ..} images/s of one model on this backend ("loop" and
    "fit": TensorFlow only, else None), timed in the order raw, loop, fit."""
    functions, raw_images = epoch_functions(name, batch_size, num_examples, model_kwargs)
    out = {"raw": raw_images / _timed(functions["raw"]), "loop": None, "fit": None}
    for engine in ("loop", "fit"):
        if engine in functions:  # engine "loop" under JAX is one fit per epoch: the device rows
            out[engine] = num_examples / _timed(functions[engine])
    return out


def device_rows(name, batch_size, num_models, model_kwargs=None, steps=20, repeats=3):
    """The JAX device engine's rows (1 and `num_models` models), or one row with a note."""
    try:
        from fer_keras.training.jax_engine import engine_throughput
    except ImportError as err:
        return [{"engine": "device", "num_models": 1, "images_per_s": None,
                 "note": f"the JAX device engine is not importable here ({err})"}]
    from fer_keras.training.device import has_gpu

    rows = []
    for k in (1, num_models):
        if k > 2 and not has_gpu():  # runner.models_together: K=10 passed 23 GiB on this CPU
            rows.append({"engine": "device", "num_models": k, "images_per_s": None,
                         "note": "not run on CPU: the vmapped program of many models compiles "
                                 "into more memory than a CPU machine has, and is slower there "
                                 "than one model"})
            continue
        r = engine_throughput(name, batch_size, num_models=k, steps=steps,
                              model_kwargs=model_kwargs, repeats=repeats)
        rows.append({"engine": "device", "num_models": k, "images_per_s": r["images_per_s"],
                     "compile_s": r.get("compile_s"), "device": r.get("device")})
    return rows


def backend_rows(models=MODELS, tiny=False, log=None):
    """Every row of this process's backend: raw, loop and fit per model, then the device engine
    (JAX only), each with its share of the 1x1-convolution ceiling."""
    import keras

    from fer_keras.benchmark.ceilings import conv1x1_ceiling
    from fer_keras.benchmark.model_speed import build
    from fer_keras.models import model_summary
    from fer_keras.training.device import describe_hardware

    log = log or (lambda message: None)
    backend = keras.backend.backend()
    device = describe_hardware()["summary"]
    ceiling = conv1x1_ceiling(2 if tiny else 5, tiny)
    rows = []
    for name in models:
        kwargs = _model_kwargs(name, tiny)
        macs = model_summary(build(name, tiny))["macs"]
        log(f"training throughput: {name} on {backend}")
        rates = engine_rates(name, BATCH_SIZE, 2 * BATCH_SIZE if tiny else TRAIN_EXAMPLES,
                             kwargs)
        model_rows = [{"engine": e, "num_models": 1, "images_per_s": rates[e]}
                      for e in ("raw", "loop", "fit")]
        if backend == "jax":
            model_rows += device_rows(name, BATCH_SIZE, 2 if tiny else NUM_MODELS, kwargs,
                                      steps=2 if tiny else 20, repeats=1 if tiny else 3)
        for row in model_rows:
            rate = row["images_per_s"]
            row.update(model=name, backend=backend, device=row.get("device") or device,
                       batch=BATCH_SIZE, conv1x1_gmacs=ceiling,
                       fraction_of_conv1x1=None if rate is None
                       else 3 * macs * rate / 1e9 / ceiling)
            if rate is None and "note" not in row:
                row["note"] = ("TensorFlow only" if row["engine"] == "fit"
                               else "engine 'loop' under JAX is one fit per epoch")
            rows.append(row)
    return rows


def _model_kwargs(name, tiny):
    from fer_keras.benchmark.timing import TINY_KWARGS
    from fer_keras.models import get_entry

    return TINY_KWARGS.get(get_entry(name).family, {}) if tiny else {}


def jax_rows_in_subprocess(models=MODELS, tiny=False, timeout=1800):
    """`backend_rows` under `KERAS_BACKEND=jax` in a child process (the backend is fixed at
    import); one row with a note when the child fails."""
    code = ("import json, sys; from fer_keras.benchmark.training_speed import backend_rows; "
            f"print('ROWS' + json.dumps(backend_rows({list(models)!r}, {tiny!r})))")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"backend": "jax", "note": f"the JAX run took over {timeout} s"}]
    for line in done.stdout.splitlines():
        if line.startswith("ROWS"):
            return json.loads(line[4:])
    return [{"backend": "jax", "note": "the JAX run failed: "
             + (done.stderr.strip().splitlines() or ["no output"])[-1]}]


def run_training_section(models=MODELS, tiny=False, log=None, other_backend=True):
    """The training section: this backend's rows, then JAX's from a child process when this
    process runs TensorFlow (`other_backend=False` skips it), then a real CK+ fold's epochs
    against the raw step (`epoch_speed.fold_section`) where I-MobileNetV2 is among `models`."""
    import keras

    rows = backend_rows(models, tiny, log)
    if other_backend and keras.backend.backend() == "tensorflow":
        (log or (lambda m: None))("training throughput: JAX rows (subprocess)")
        rows += jax_rows_in_subprocess(models, tiny)
    out = {"train_examples": 2 * BATCH_SIZE if tiny else TRAIN_EXAMPLES, "batch": BATCH_SIZE,
           "tiny": tiny, "rows": rows}
    if "i_mobilenetv2" in models and not tiny:
        from fer_keras.benchmark.epoch_speed import fold_section

        (log or (lambda m: None))("training epoch vs raw step: a CK+ fold through train")
        out["fold"] = fold_section()
    return out


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def format_training_markdown(result):
    """The training-throughput table, one row per (backend, model, engine, models)."""
    lines = [f"Training throughput: {result['train_examples']} synthetic 48x48 training images "
             f"per epoch at batch {result['batch']} (a CK+ fold), second epoch"
             f"{' (tiny widths)' if result['tiny'] else ''}.", "",
             "| backend | device | model | engine | models | images/s | of 1x1 ceiling | "
             "loop / raw | note |", "|---|---|---|---|---:|---:|---:|---:|---|"]
    raw = {(r.get("backend"), r.get("model")): r["images_per_s"]
           for r in result["rows"] if r.get("engine") == "raw"}
    for r in result["rows"]:
        rate, base = r.get("images_per_s"), raw.get((r.get("backend"), r.get("model")))
        ratio = rate / base if rate and base and r.get("engine") in ("loop", "fit") else None
        lines.append(f"| {r.get('backend', '')} | {r.get('device', '')} | {r.get('model', '')} "
                     f"| {r.get('engine', '')} | {r.get('num_models', '')} | "
                     f"{_fmt(rate, '.1f')} | {_fmt(r.get('fraction_of_conv1x1'), '.1%')} | "
                     f"{_fmt(ratio, '.2f')} | {r.get('note', '')} |")
    if "fold" in result:
        from fer_keras.benchmark.epoch_speed import format_fold_markdown

        lines += ["", format_fold_markdown(result["fold"])]
    return "\n".join(lines)
