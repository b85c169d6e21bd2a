"""The deploy form of a trained model: the same function in fewer, fusable, static-shape ops.

`deploy_form(model)` rebuilds a trained functional model (I-MobileNetV2, Light-NTWRN and their
ablation rows) layer by layer into a new Keras model with the same weights, rewritten for
inference (issue 32, item 1):

- **BatchNormalization folded** into the convolution before it (through a channel shuffle when
  one sits between them: the shuffle is a permutation, so the BN's parameters are permuted back;
  `fer_keras.deployment.folding`);
- **SELU** (I-MobileNetV2 eq. 10) as ``scale * leaky_relu_alpha(elu(x))``: for ``x < 0``,
  ``elu(x) = exp(x) - 1 < 0`` and the leaky ReLU of slope ``alpha`` multiplies it by ``alpha``;
  for ``x >= 0`` both are the identity. Two builtins XNNPACK runs (ELU, LEAKY_RELU), instead of
  ELU, RELU, two MULs and an ADD. The ``scale`` is not applied: it travels with the tensor
  (``_Value.scale``) through the ops that commute with a positive scale (reverse fusion's
  difference, squeeze-and-excitation's rescaling, ReLU, pooling, residual additions of equal
  scale) and is folded into the weights of the next convolution or dense layer, which is exact
  (zero padding of ``s * x`` is ``s`` times the zero padding of ``x``); where a consumer cannot
  take it, one MUL applies it;
- the raw-pixel **normalisation** ``x / 127.5 - 1`` as one ADD (``x - 127.5``) with the
  ``1 / 127.5`` folded into the stem convolution in the same way;
- **squeeze-and-excitation** (eqs. 6-8) as GlobalAveragePooling2D(keepdims) and two 1x1
  convolutions (no reshape), and SCAM's channel branch likewise, its shared MLP's two passes
  summed before the second layer (``W2 h_avg + b2 + W2 h_max + b2 = W2 (h_avg + h_max) + 2 b2``);
- **static shapes**: the channel shuffle and every reshape have constant shapes, so the
  converted model holds no SHAPE / PACK / STRIDED_SLICE ops; `batch_size` fixes the batch
  (1 by default; ``None`` keeps it free, still without shape-computing ops);
- dropout removed.

The result takes raw pixels and returns what the model returned; `export` converts it to TFLite
and checks it against the Keras model like every format. Layers the rewrite does not know are
called as they are (on the scaled tensor made exact first), so any functional model converts.
"""

from dataclasses import dataclass

import keras
import numpy as np

from fer_keras.deployment.folding import folded_conv, pointwise, shuffle_permutation
from fer_keras.layers.activations import SELU_ALPHA, SELU_SCALE


# deploy_form's `integer` values: float ops, SELU spelled in int8-quantisable ops, ELU kept.
INTEGER_FLAVOURS = (False, True, "elu")


@dataclass
class _Value:
    """A deploy-graph tensor whose real value is ``scale * tensor``."""
    tensor: object
    scale: float = 1.0


def deploy_form(model, batch_size=1, integer=False):
    """The deploy form of `model` (a functional Keras model): same outputs, fewer ops.

    Args:
        model: a trained functional model (e.g. ``fer_keras.i_mobilenetv2(weights="fer2013")``).
        batch_size: the fixed batch of the input (1: a batch-1 model with every shape static),
            or ``None`` for a free batch.
        integer: spell SELU and negation with ops TFLite's int8 quantizer supports (for the
            full-integer model): ``relu(x) + alpha * (exp(min(x, 0)) - 1)`` (the quantizer
            leaves ELU in float) and ``-x`` as ``0 - x`` (it leaves NEG in float). The same
            function in more, but integer, ops. ``"elu"``: ELU kept, ``-x`` as ``x * -1``, for
            `fer_keras.deployment.int8_elu.fuse_float_elu` to make ELU int8 after conversion.

    Returns:
        A new ``keras.Model`` named ``<model.name>_deploy`` computing the same function.
    """
    if not (isinstance(integer, bool) or integer == "elu"):  # 1.0 == True: not `in`
        raise ValueError(f"integer must be one of {INTEGER_FLAVOURS} (float, the integer "
                         f"flavour, the ELU flavour), got {integer!r}")
    return _Rewriter(model, batch_size, integer).build()


class _Rewriter:
    """Walks the model's graph from its input and emits each layer's deploy form."""

    def __init__(self, model, batch_size, integer=False):
        if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
            raise ValueError(f"deploy_form needs a functional Keras model, got {type(model)}")
        if len(model.inputs) != 1:
            raise ValueError(f"deploy_form needs a one-input model, got {len(model.inputs)}")
        self.model, self.batch_size, self.integer = model, batch_size, integer
        self.values = {}  # id(original KerasTensor) -> _Value
        self._consumers = {}  # id(KerasTensor) -> number of nodes reading it
        for nodes in model._nodes_by_depth.values():  # noqa: SLF001 - the graph Keras walks
            for node in nodes:
                for t in node.input_tensors:
                    self._consumers[id(t)] = self._consumers.get(id(t), 0) + 1
        self.fold = {}  # id(conv layer) -> (bn layer, permutation or None)
        self.folded_bn = set()  # id(bn layer) folded into a convolution
        self._plan_bn_folding()

    # === BN folding plan ===
    def _plan_bn_folding(self):
        from fer_keras.layers.channel_shuffle import ChannelShuffle

        for layer in self.model.layers:
            if not isinstance(layer, keras.layers.BatchNormalization) or len(
                    layer._inbound_nodes) != 1:  # noqa: SLF001
                continue
            source = layer.input
            producer = source._keras_history.operation
            permutation = None
            if isinstance(producer, ChannelShuffle) and self._consumers.get(id(source)) == 1:
                channels = source.shape[-1]
                permutation = shuffle_permutation(channels, producer.groups)
                source = producer.input
                producer = source._keras_history.operation
            if (self._is_conv(producer) and len(producer._inbound_nodes) == 1  # noqa: SLF001
                    and self._consumers.get(id(source)) == 1
                    and producer.get_config().get("activation", "linear") == "linear"):
                self.fold[id(producer)] = (layer, permutation)
                self.folded_bn.add(id(layer))

    @staticmethod
    def _is_conv(layer):
        return isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))

    # === the walk ===
    def build(self):
        model = self.model
        source = model.inputs[0]
        inputs = keras.Input(shape=source.shape[1:], batch_size=self.batch_size,
                             name=source.name)
        self.values[id(source)] = _Value(inputs)
        for depth in sorted(model._nodes_by_depth, reverse=True):  # noqa: SLF001
            for node in model._nodes_by_depth[depth]:  # noqa: SLF001
                if node.operation is None or node.is_input:
                    continue
                outputs = self._emit(node)
                for original, value in zip(node.outputs, outputs):
                    self.values[id(original)] = value
        result = [self._exact(self.values[id(t)]) for t in model.outputs]
        return keras.Model(inputs, result[0] if len(result) == 1 else result,
                           name=f"{model.name}_deploy")

    def _emit(self, node):
        """[_Value] of one node's outputs."""

        from fer_keras.layers.activations import Act
        from fer_keras.layers.channel_shuffle import ChannelShuffle
        from fer_keras.layers.group_bottleneck import GroupBottleneck
        from fer_keras.layers.reverse_fusion import ReverseFusion
        from fer_keras.layers.scam import SCAM
        from fer_keras.layers.squeeze_excite import SqueezeExcite

        layer = node.operation
        ins = [self.values[id(t)] for t in node.input_tensors]
        x = ins[0] if ins else None
        if isinstance(layer, keras.layers.BatchNormalization) and id(layer) in self.folded_bn:
            return [x]
        if isinstance(layer, keras.layers.Dropout):
            return [x]
        if self._is_conv(layer):
            bn, permutation = self.fold.get(id(layer), (None, None))
            return [_Value(folded_conv(layer, bn, x.scale, permutation)(x.tensor))]
        if isinstance(layer, keras.layers.Dense):
            return [_Value(self._dense(layer, x.scale)(x.tensor))]
        if isinstance(layer, keras.layers.Rescaling) and x.scale == 1.0:
            return [self._rescaling(layer, x)]
        if isinstance(layer, Act):
            return [self._activation(layer.activation, x, layer.name)]
        if isinstance(layer, ReverseFusion) and layer.mode == "difference" \
                and layer.activation == "selu":
            return [self._selu_difference(layer, x)]
        if isinstance(layer, SqueezeExcite):
            return [self._squeeze_excite(layer, x)]
        if isinstance(layer, SCAM):
            return [self._scam(layer, self._exact(x))]
        if isinstance(layer, ChannelShuffle):
            return [_Value(self._shuffle(x.tensor, layer.groups, layer.name), x.scale)]
        if isinstance(layer, GroupBottleneck):
            return [self._group_bottleneck(layer, x)]
        if isinstance(layer, keras.layers.Flatten):  # a constant shape, not SHAPE / PACK
            flat = int(np.prod(x.tensor.shape[1:]))
            return [_Value(keras.ops.reshape(x.tensor, (-1, flat)), x.scale)]
        if isinstance(layer, (keras.layers.GlobalAveragePooling2D,
                              keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            return [_Value(layer.__class__.from_config(layer.get_config())(x.tensor), x.scale)]
        if isinstance(layer, keras.layers.Add) and len({v.scale for v in ins}) == 1:
            return [_Value(keras.layers.Add(name=layer.name)([v.tensor for v in ins]), x.scale)]
        return self._as_is(node, ins)

    def _as_is(self, node, ins):
        """The layer itself, called on exact (unscaled) tensors."""
        from keras import tree

        tensors = {id(t): self._exact(v) for t, v in zip(node.input_tensors, ins)}
        args, kwargs = node.arguments.fill_in(tensors)
        outputs = node.operation(*args, **kwargs)
        return [_Value(t) for t in tree.flatten(outputs)]

    @staticmethod
    def _exact(value):
        """The real value's tensor: one MUL when a scale is pending."""
        from keras import ops

        if value.scale == 1.0:
            return value.tensor
        return ops.multiply(value.tensor, np.float32(value.scale))

    # === layer rewrites ===
    @staticmethod
    def _dense(layer, in_scale):
        config = {**layer.get_config()}
        config.pop("dtype", None)
        new = keras.layers.Dense.from_config(config)
        new.build(layer.kernel.shape[:1])
        weights = layer.get_weights()
        weights[0] = weights[0] * np.float32(in_scale)
        new.set_weights(weights)
        return new

    @staticmethod
    def _rescaling(layer, x):
        """``scale * x + offset`` as ``x + offset / scale``, the scale pending."""
        scale, offset = float(np.asarray(layer.scale)), float(np.asarray(layer.offset))
        if scale <= 0:
            return _Value(layer.__class__.from_config(layer.get_config())(x.tensor))
        return _Value(Offset(offset / scale, name=layer.name)(x.tensor), scale)

    def _activation(self, name, x, layer_name):
        if name == "linear":
            return x
        if name == "relu":  # relu(s x) = s relu(x), s > 0
            return _Value(keras.layers.ReLU(name=layer_name)(x.tensor), x.scale)
        t = self._exact(x)
        if name == "selu":
            return _Value(_selu_unscaled(t, layer_name, self.integer), SELU_SCALE)
        if name == "relu6":
            return _Value(keras.layers.ReLU(6.0, name=layer_name)(t))
        if name == "elu":
            return _Value(keras.layers.ELU(name=layer_name)(t))
        from fer_keras.layers.activations import Act

        return _Value(Act(name, name=layer_name)(t))

    def _selu_difference(self, layer, x):
        """Reverse fusion's ``selu(x) - selu(-x)`` as ``SELU_SCALE * (g(x) - g(-x))``."""

        t = self._exact(x)
        minus = (keras.ops.multiply(t, -1.0) if self.integer == "elu" else
                 keras.ops.subtract(0.0, t) if self.integer else keras.ops.negative(t))
        positive = _selu_unscaled(t, f"{layer.name}_pos", self.integer)
        negative = _selu_unscaled(minus, f"{layer.name}_neg", self.integer)
        return _Value(keras.layers.Subtract(name=layer.name)([positive, negative]), SELU_SCALE)

    def _squeeze_excite(self, layer, x):
        """Eqs. 6-8 as pooled 1x1 convolutions: ``x * sigmoid(W2 relu(W1 mean(x)))``; the
        pending scale is folded into ``W1`` and stays on the output."""

        pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{layer.name}_pool")(
            x.tensor)
        hidden = pointwise(layer.reduce, x.scale, "relu", f"{layer.name}_reduce")(pooled)
        gate = pointwise(layer.expand, 1.0, "sigmoid", f"{layer.name}_expand")(hidden)
        return _Value(keras.layers.Multiply(name=layer.name)([x.tensor, gate]), x.scale)

    def _scam(self, layer, x, name=None):
        """SCAM (Light-NTWRN eqs. 13-16) without reshapes: the spatial branch on channel-wise
        mean and max, the channel branch on global pooling and 1x1 convolutions."""

        name = name or layer.name
        _, height, width, _ = x.shape

        def spatial(t):
            pooled = keras.ops.concatenate(
                [keras.ops.mean(t, axis=-1, keepdims=True),
                 keras.ops.max(t, axis=-1, keepdims=True)], axis=-1)
            conv = folded_conv(layer.spatial_conv, name=f"{name}_spatial_conv")
            gate = keras.ops.sigmoid(conv(pooled))
            return keras.ops.multiply(t, gate)

        def channel(t):
            avg = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_avg")(t)
            mx = keras.layers.MaxPooling2D((height, width), name=f"{name}_max")(t)
            hidden = pointwise(layer.mlp_hidden, 1.0, "relu", f"{name}_mlp_hidden")
            summed = keras.layers.Add(name=f"{name}_mlp_sum")([hidden(avg), hidden(mx)])
            out = pointwise(layer.mlp_out, 1.0, "sigmoid", f"{name}_mlp_out", bias_times=2)
            return keras.ops.multiply(t, out(summed))

        if layer.order == "spatial_first":
            return _Value(channel(spatial(x)))
        return _Value(spatial(channel(x)))

    @staticmethod
    def _shuffle(t, groups, name):
        """`ChannelShuffle` with constant shapes (no SHAPE / PACK ops)."""
        from keras import ops

        if groups == 1:
            return t
        _, height, width, channels = t.shape
        x = ops.reshape(t, (-1, height, width, groups, channels // groups))
        x = ops.transpose(x, (0, 1, 2, 4, 3))
        return ops.reshape(x, (-1, height, width, channels))

    def _group_bottleneck(self, layer, x):
        """`GroupBottleneck` (Light-NTWRN section 3.4) unrolled, every BN folded."""

        name = layer.name
        t = folded_conv(layer.conv1, layer.bn1, x.scale, name=f"{name}_conv1")(x.tensor)
        t = keras.layers.ReLU(name=f"{name}_relu1")(t)
        t = folded_conv(layer.gconv, layer.bn2, name=f"{name}_gconv")(t)
        t = keras.layers.ReLU(name=f"{name}_relu2")(t)
        t = folded_conv(layer.conv2, layer.bn3, name=f"{name}_conv2")(t)
        t = keras.layers.ReLU(name=f"{name}_relu3")(t)
        if layer.scam is not None:
            t = self._scam(layer.scam, t, f"{name}_scam").tensor
        if layer.shortcut_conv is not None:
            shortcut = folded_conv(layer.shortcut_conv, layer.shortcut_bn, x.scale,
                                   name=f"{name}_shortcut")(x.tensor)
        else:
            shortcut = self._exact(x)
        return _Value(keras.layers.Add(name=f"{name}_add")([t, shortcut]))


def _selu_unscaled(t, name, integer=False):
    """``selu(t) / SELU_SCALE``: ELU then a leaky ReLU of slope SELU_ALPHA; with `integer`,
    ``relu(t) + SELU_ALPHA * (exp(min(t, 0)) - 1)``, whose two terms an int8 model quantises
    each on its own scale (the negative part keeps its resolution until the sum), with
    ``min(t, 0)`` as ``0 - relu(0 - t)`` (MINIMUM against a constant 0 quantised badly here:
    errors of several units on the positive side)."""
    if integer is True:
        ops = keras.ops
        below = ops.subtract(0.0, ops.relu(ops.subtract(0.0, t)))
        negative = ops.multiply(ops.subtract(ops.exp(below), 1.0), SELU_ALPHA)
        return keras.layers.Add(name=f"{name}_sum")(
            [keras.layers.ReLU(name=f"{name}_relu")(t), negative])
    return keras.layers.LeakyReLU(SELU_ALPHA, name=f"{name}_alpha")(
        keras.layers.ELU(name=f"{name}_elu")(t))


class Offset(keras.layers.Layer):
    """``x + offset``: the raw-pixel normalisation's shift (its scale is folded forward)."""

    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = float(offset)

    def call(self, inputs):
        return inputs + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
