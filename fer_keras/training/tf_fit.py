"""Engine "fit" (TensorFlow): each epoch is one `model.fit` call over the `tf.data` pipeline.

The TensorFlow path the papers' code took ("trained with tf.data pipelines on GPU"): the epoch's
batches come from `make_tf_dataset` (the seeded order of `epoch_plan`; every augmentation layer
runs inside the `tf.data` map as TensorFlow ops, in parallel, prefetched), class weights ride
along as per-example sample weights, and Keras runs `STEPS_PER_EXECUTION` optimizer steps per
call of its compiled train function (one `tf.while_loop`) instead of one Python call per step.

What stays the same as engine "loop" (`train_on_batch` per step):
- the batches: the same `make_tf_dataset(seed, epoch)` dataset, so the same examples, order and
  augmentation per (seed, epoch); the same optimizer, schedule, loss and train step;
- the epoch row: Keras's loss tracker is a mean of batch losses weighted by batch size, and the
  "accuracy" metric is unweighted (compiled `metrics`, not `weighted_metrics`), so loss and
  accuracy are means over the epoch's examples exactly as `keras_engine._step_epoch` computes them;
- checkpoints, resume, time limit and best epoch: `train_fold` does them after each epoch, as
  for the loop (one `fit` call per epoch keeps them per epoch).

What differs:
- the NaN stop sees the loss once per call of `STEPS_PER_EXECUTION` steps, not once per step:
  `TrainingDiverged` names the range of batches of that call; the run stops there and the last
  finished epoch's checkpoint is kept, as with the loop;
- the weights can differ from the loop's in the last bits: the same step runs inside a
  `tf.while_loop` in a larger graph, which TensorFlow may optimise differently. In float64 the
  two agree to rtol 1e-9 after four steps (tests/test_train_tf_fit.py); in float32 a small model
  can amplify that last-bit difference as it would any rounding (the same file's slow test).
"""

import numpy as np

from fer_keras.training.finite import raise_diverged

# Optimizer steps per compiled call. 8 keeps a CK+ epoch (40 steps at batch 20) at five calls and
# the progress bar alive on FER2013 (897 steps at batch 32). Not tuned: on this CPU a step costs
# about 100 ms, against well under 1 ms of Python per call; a GPU may want more.
STEPS_PER_EXECUTION = 8
# Engine "auto" takes "fit" on TensorFlow only where it was measured at least as fast as the loop;
# on a quiet 2-core CPU the loop was faster (0.95 of the raw step against 0.90; docs/
# performance.md, "Training throughput") and no TensorFlow GPU has been measured, so "auto" stays
# "loop" on TensorFlow.
AUTO_PREFERS_FIT = False


def use_tf_fit(config):
    """True where `config.engine` means engine "fit" on this backend.

    Raises:
        ValueError: engine "fit" under a backend other than TensorFlow.
    """
    import keras

    backend = keras.backend.backend()
    if config.engine == "fit" and backend != "tensorflow":
        raise ValueError(f"engine 'fit' trains through tf.data and needs the TensorFlow backend; "
                         f"the backend is {backend!r} (use engine 'loop' or 'auto')")
    return backend == "tensorflow" and (
        config.engine == "fit" or (config.engine == "auto" and (
            AUTO_PREFERS_FIT or config.distribute != "none")))


def num_steps(num_examples, batch_size, drop_remainder=False):
    """Optimizer steps of one epoch."""
    if drop_remainder:
        return num_examples // batch_size
    return -(-num_examples // batch_size)


def set_steps_per_execution(trainer, steps):
    """Makes a compiled model run `steps` optimizer steps per call of its train function."""
    if trainer.steps_per_execution != steps:
        trainer.steps_per_execution = steps
        trainer.train_function = None  # rebuilt by the next fit with the new loop length


def training_dataset(config, ds, indices, epoch, weights=None, drop_remainder=False):
    """The epoch's `tf.data` batches, (x, y) or (x, y, sample weight of y's class)."""
    import tensorflow as tf

    from fer_keras.data import make_tf_dataset

    data = make_tf_dataset(ds, indices, config.batch_size, training=True,
                           channels=config.channels, augment=config.augment, seed=config.seed,
                           epoch=epoch, drop_remainder=drop_remainder)
    if weights is None:
        return data
    table = tf.constant(np.asarray(weights, np.float32))
    return data.map(lambda x, y: (x, y, tf.gather(table, y)))


def _watch(bar):
    """A callback that advances `bar` per call and stops `fit` at the first non-finite loss."""
    import keras

    class Watch(keras.callbacks.Callback):
        nan_at = None
        begin = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.begin = batch

        def on_train_batch_end(self, batch, logs=None):
            if bar is not None:
                bar.update(batch - self.begin + 1)
            loss = float((logs or {}).get("loss", 0.0))
            if not np.isfinite(loss) and self.nan_at is None:
                self.nan_at = self.begin if batch == self.begin else (self.begin, batch)
                self.model.stop_training = True

    return Watch()


def fit_epoch(trainer, config, ds, indices, epoch, weights, ckpt_path, lr, bar=None,
              drop_remainder=False, steps_per_execution=STEPS_PER_EXECUTION):
    """Trains epoch `epoch` on `ds[indices]` with one `trainer.fit` call.

    Args:
        trainer: the compiled model (the loop's logits model); its optimizer is built.
        weights: per-class sample weights (`model_setup.class_weights`) or None.
        ckpt_path, lr: for the `TrainingDiverged` message.
        bar: a tqdm bar advanced per call, or None.

    Returns:
        (mean loss, mean accuracy) over the epoch's examples.

    Raises:
        TrainingDiverged: a non-finite loss (seen once per call of `steps_per_execution` steps).
    """
    import tensorflow as tf

    if tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1:
        # Keras 3.15's multi-step loop (tf.while_loop over get_next_as_optional) fails under
        # MirroredStrategy with "You must feed a value for placeholder tensor 'while/cond/...'"
        # (TensorFlow 2.21); one step per call works (docs/scaling.md).
        steps_per_execution = 1
    steps = num_steps(len(indices), config.batch_size, drop_remainder)
    set_steps_per_execution(trainer, max(1, min(steps_per_execution, steps)))
    watch = _watch(bar)
    history = trainer.fit(training_dataset(config, ds, indices, epoch, weights, drop_remainder),
                          epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
                          callbacks=[watch])
    logs = {k: v[-1] for k, v in history.history.items()}
    loss, acc = float(logs["loss"]), float(logs.get("accuracy", np.nan))
    if watch.nan_at is not None or not np.isfinite(loss):
        raise_diverged(loss, epoch, ckpt_path, lr, watch.nan_at)
    return loss, acc
