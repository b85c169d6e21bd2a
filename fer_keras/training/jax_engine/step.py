"""The compiled functions of the device engine: an epoch of stateless training steps under
`jax.lax.scan`, vmapped over K stacked models, and batched prediction.

A model's state is three lists of arrays, `(trainable, non_trainable, optimizer)`, in the order
of `trainer.trainable_variables`, `trainer.non_trainable_variables` and the update optimizer's
`variables`; K models stack each array on a leading axis. One step is what `train_on_batch`
does: `trainer.stateless_call` on the augmented batch, the trainer's compiled loss (sparse
cross-entropy, on logits where the trainer is `model_setup.logits_model`'s; `compile_trainer`)
weighted by the class weights, its gradient, and the optimizer's `stateless_apply`. A step whose
`active` flag is False leaves the state unchanged: folds with fewer steps than the longest are
padded so.

With a `mesh` (`--distribute data_parallel` over several local devices) the state and the
dataset are replicated on every device and each step's augmented batch is constrained to be
split along the mesh's "batch" axis: XLA's partitioner then runs each device on its share of
the batch and sums the gradients and BatchNormalization statistics across devices, so the step
is the one-device step up to the order of those sums.
"""

import jax
import jax.numpy as jnp

from fer_keras.training.jax_engine.data import batch_inputs



def _tree_where(flag, new, old):
    return jax.tree.map(lambda n, o: jnp.where(flag, n, o), new, old)


def _over_models(fn, in_axes, num_models):
    """`fn` over stacked models: `jax.vmap` for K > 1; for K = 1 the plain function on the
    squeezed arguments (so a single model runs exactly the unbatched step)."""
    if num_models > 1:
        return jax.vmap(fn, in_axes=in_axes)

    def single(*args):
        args = [a if ax is None else jax.tree.map(lambda v: v[0], a)
                for a, ax in zip(args, in_axes)]
        return jax.tree.map(lambda v: v[None], fn(*args))

    return single


class Program:
    """The jitted epoch, remainder step and prediction of one architecture and K models.

    Args:
        trainer: the (logits) Keras model whose `stateless_call` is trained; it and `optimizer`
            must be built.
        optimizer: the update optimizer (a constant, variable learning rate: the engine sets
            each model's rate per epoch, so folds with different steps per epoch keep their own
            step schedule).
        from_logits: True when `trainer` outputs logits (softmax applied for predictions).
        layers: the augmentation layers (`pipeline.resolve_augment`), run inside the step.
        channels: the model's input channels. has_boxes: whether the dataset has face boxes.
        num_models: K. lr_pos: the learning-rate variable's index in `optimizer.variables`.
        mesh: a `jax.sharding.Mesh` with a "batch" axis to split every batch over (data
            parallel), or None (one device).
    """

    def __init__(self, trainer, optimizer, from_logits, layers, channels, has_boxes,
                 num_models, lr_pos, mesh=None):
        self.lr_pos = lr_pos  # the learning rate's place in the optimizer's variables
        self.mesh = mesh
        self.trainer, self.optimizer, self.from_logits = trainer, optimizer, from_logits
        self.layers, self.channels, self.has_boxes = list(layers), channels, has_boxes
        self.num_models = num_models
        data_axes = (None, None, None)  # images, labels, boxes: shared by every model
        # The state's buffers are reused in place where the backend can (not on CPU).
        donate = () if jax.default_backend() == "cpu" else (0,)
        self.epoch = jax.jit(self._epoch, donate_argnums=donate)
        self.step_one = jax.jit(self._step)
        self._vstep = _over_models(self._step, (0, *data_axes, 0, 0, 0, 0), num_models)
        self.predict = jax.jit(_over_models(self._predict, (0, 0, None, 0), num_models))

    def _loss(self, trainable, non_trainable, x, y, sample_weight):
        out, non_trainable, losses = self.trainer.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True)
        out = out.astype(jnp.float32)
        # The loss object every engine compiles (`model_setup.compile_trainer`): Keras's sparse
        # cross-entropy, weighted and divided by the batch size as `train_on_batch` does.
        loss = self.trainer.loss(y, out, sample_weight=sample_weight)
        if losses:
            loss = loss + sum(jnp.sum(v.astype(jnp.float32)) for v in losses)
        correct = jnp.sum(jnp.argmax(out, axis=-1) == y)
        return loss, (non_trainable, correct)

    def _step(self, state, images, labels, boxes, class_weights, idx, seeds, active):
        """One optimizer step of one model on the examples `idx` (B) with `seeds` (B x L)."""
        trainable, non_trainable, opt = state
        x = self._split(batch_inputs(images, idx, self.channels, self.layers, seeds,
                                     boxes if self.has_boxes else None))
        y = self._split(labels[idx])
        grad_fn = jax.value_and_grad(self._loss, has_aux=True)
        (loss, (non_trainable, correct)), grads = grad_fn(trainable, non_trainable, x, y,
                                                          class_weights[y])
        trainable, opt = self.optimizer.stateless_apply(opt, grads, trainable)
        new = _tree_where(active, (trainable, non_trainable, opt), state)
        return new, loss, correct

    def _split(self, batch):
        """`batch` split along its first axis over the mesh's devices (itself without a mesh,
        or when the batch does not divide evenly)."""
        if self.mesh is None or batch.shape[0] % self.mesh.size:
            return batch
        from jax.sharding import NamedSharding, PartitionSpec

        spec = PartitionSpec("batch", *([None] * (batch.ndim - 1)))
        return jax.lax.with_sharding_constraint(batch, NamedSharding(self.mesh, spec))

    def _epoch(self, state, images, labels, boxes, class_weights, idx, seeds, active):
        """Scans the steps: idx S x K x B, seeds S x K x B x L, active S x K; returns the new
        state and the per-step losses and correct counts (S x K)."""

        def body(carry, xs):
            step_idx, step_seeds, step_active = xs
            carry, loss, correct = self._vstep(carry, images, labels, boxes, class_weights,
                                               step_idx, step_seeds, step_active)
            return carry, (loss, correct)

        return jax.lax.scan(body, state, (idx, seeds, active))

    def _predict(self, trainable, non_trainable, images, idx):
        """Class probabilities (nb x PB x classes, float32) of `images[idx]` (idx nb x PB)."""

        def one(batch_idx):
            x = self._split(batch_inputs(images, batch_idx, self.channels))
            out, _ = self.trainer.stateless_call(trainable, non_trainable, x, training=False)
            out = out.astype(jnp.float32)
            return jax.nn.softmax(out, axis=-1) if self.from_logits else out

        return jax.lax.map(one, idx)
