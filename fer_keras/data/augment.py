"""Augmentation as Keras preprocessing layers, written with `keras.ops` only (no TensorFlow import).

They run inside `tf.data` (TensorFlow backend) and on the TensorFlow-free numpy path alike. Every
layer takes images B x H x W x C (float, 0-255) and two optional keyword inputs:

- `seeds`: int32 B, one seed per example. Given, the draws are a pure function of the seed, so
  the pipeline makes augmentation reproducible by (seed, epoch) and safe under parallel map.
  Omitted, the layer draws seeds from its own `keras.random.SeedGenerator` (use inside a model).
- `boxes`: int B x 4 face boxes (x, y, w, h) in pixels; only `ImprovedRandomErasing` uses them.

Randomness from a seed is a counter-based Wichmann-Hill generator: three small LCGs whose
products fit in int32 and float32, so it gives the same numbers on every backend.

Layers: `HorizontalFlip`; `ImprovedRandomErasing` (Light-NTWRN section 3.2, eqs. 8-12, Table 2);
the JAFFE expansion set (Light-NTWRN section 4.2): `RandomAffine` (rotation, panning, scaling),
`RandomCropResize` (cropping), `RandomContrast` (contrast), with `HorizontalFlip` (flip).
"""

import functools
import math

import keras
import numpy as np
from keras import ops

_MOD = (30269, 30307, 30323)
_MUL = (171, 172, 170)
# Counter offsets, so different layers fed the same seed use disjoint streams.
_FLIP, _ERASE, _AFFINE, _CROP, _CONTRAST, _NOISE = 0, 8, 16, 24, 32, 64


@functools.lru_cache(maxsize=32)
def _powers(offset, n):
    """a_i^(k+1) mod m_i for k in [offset, offset + n), as int32 (3, n)."""
    out = np.empty((3, n), np.int32)
    for i in range(3):
        c = pow(_MUL[i], offset + 1, _MOD[i])
        for k in range(n):
            out[i, k] = c
            c = c * _MUL[i] % _MOD[i]
    return out


def seeded_uniform(seeds, n, offset=0):
    """n uniforms in [0, 1) per seed: float32 B x n, a pure function of (seed, offset, k)."""
    seeds = ops.cast(ops.reshape(seeds, (-1, 1)), "int32")
    seeds = ops.where(seeds < 0, -(seeds + 1), seeds)
    states = (seeds % (_MOD[0] - 1) + 1,
              (seeds // (_MOD[0] - 1)) % (_MOD[1] - 1) + 1,
              (seeds // 7919) % (_MOD[2] - 1) + 1)
    consts = _powers(offset, n)
    total = 0.0
    for i in range(3):
        v = (states[i] * ops.convert_to_tensor(consts[i][None, :])) % _MOD[i]
        total = total + ops.cast(v, "float32") / float(_MOD[i])
    return total - ops.floor(total)


class _SeededLayer(keras.layers.Layer):
    """Base: seeds from the `seeds` input, else from the layer's SeedGenerator."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _example_seeds(self, images, seeds):
        if seeds is None:
            seeds = keras.random.randint((ops.shape(images)[0],), 0, 2**31 - 1,
                                         seed=self.seed_generator, dtype="int32")
        return ops.cast(seeds, "int32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="fer_keras")
class HorizontalFlip(_SeededLayer):
    """Mirrors each image left-right with probability `probability`."""

    def __init__(self, probability=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability}")
        self.probability = probability

    def call(self, images, seeds=None, boxes=None, training=True):
        if not training:
            return images
        u = seeded_uniform(self._example_seeds(images, seeds), 1, _FLIP)
        flip = ops.reshape(u < self.probability, (-1, 1, 1, 1))
        return ops.where(flip, ops.flip(images, axis=2), images)

    def get_config(self):
        config = super().get_config()
        config.update({"probability": self.probability})
        return config


@keras.saving.register_keras_serializable(package="fer_keras")
class ImprovedRandomErasing(_SeededLayer):
    """Light-NTWRN's improved random erasing (section 3.2, eqs. 8-12, Table 2).

    With probability p an H_e x W_e rectangle is erased: S_e = S * U(S_l, S_h) (eq. 8),
    H_e = sqrt(S_e r), W_e = sqrt(S_e / r) (eqs. 9-10), r log-uniform in [r_e, 1/r_e] (the aspect
    range of Zhong et al., the paper's ref. [29]). The erase point P_e = (x_e, y_e) is drawn inside
    the face box (eq. 12) and is the rectangle's top-left corner, shifted up/left only as far as
    needed to keep the rectangle inside the image, so the rectangle always contains P_e (a face
    pixel) and keeps its full area.

    Args:
        probability: p (Table 2: 0.5).
        area_range: (S_l, S_h) as fractions of the image area (Table 2: 0.05, 0.3).
        aspect: r_e (Table 2: 0.3).
        fill: "noise" (uniform 0-255 per pixel, as Zhong et al.) or "constant" (`fill_value`).
        fill_value: the constant for fill="constant" (default 127.5, mid-gray in raw pixels).
        default_box: face box (x, y, w, h) as fractions of the image, used when no `boxes`
            input is given; default the central 3/4 (see `crop_face_box`).
    """

    def __init__(self, probability=0.5, area_range=(0.05, 0.3), aspect=0.3, fill="noise",
                 fill_value=127.5, default_box=(0.125, 0.125, 0.75, 0.75), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability}")
        if not 0.0 < area_range[0] <= area_range[1] <= 1.0:
            raise ValueError(f"area_range must satisfy 0 < S_l <= S_h <= 1, got {area_range}")
        if not 0.0 < aspect <= 1.0:
            raise ValueError(f"aspect must be in (0, 1], got {aspect}")
        if fill not in ("noise", "constant"):
            raise ValueError(f"fill must be 'noise' or 'constant', got {fill!r}")
        self.probability = probability
        self.area_range = tuple(area_range)
        self.aspect = aspect
        self.fill = fill
        self.fill_value = fill_value
        self.default_box = tuple(default_box)

    def sample(self, seeds, height, width, boxes=None):
        """The erase parameters per example: dict of int32 B tensors (and bool `apply`)."""
        seeds = ops.cast(seeds, "int32")
        u = seeded_uniform(seeds, 5, _ERASE)
        if boxes is None:
            fx, fy, fw, fh = self.default_box
            b = [round(fx * width), round(fy * height), round(fw * width), round(fh * height)]
            bx, by, bw, bh = (ops.cast(ops.full_like(u[:, 0], v), "int32") for v in b)
        else:
            boxes = ops.cast(boxes, "int32")
            bx, by, bw, bh = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        bw, bh = ops.maximum(bw, 1), ops.maximum(bh, 1)
        s_l, s_h = self.area_range
        area = float(height * width) * (s_l + u[:, 1] * (s_h - s_l))  # eq. 8
        ratio = ops.exp(math.log(self.aspect) * (1.0 - 2.0 * u[:, 2]))
        h = ops.clip(ops.cast(ops.round(ops.sqrt(area * ratio)), "int32"), 1, height)  # eq. 9
        w = ops.clip(ops.cast(ops.round(ops.sqrt(area / ratio)), "int32"), 1, width)  # eq. 10
        xe = bx + ops.minimum(ops.cast(ops.floor(u[:, 3] * ops.cast(bw, "float32")), "int32"), bw - 1)
        ye = by + ops.minimum(ops.cast(ops.floor(u[:, 4] * ops.cast(bh, "float32")), "int32"), bh - 1)
        xe, ye = ops.clip(xe, 0, width - 1), ops.clip(ye, 0, height - 1)  # eq. 12
        return {"apply": u[:, 0] < self.probability, "xe": xe, "ye": ye,
                "x0": ops.minimum(xe, width - w), "y0": ops.minimum(ye, height - h), "h": h, "w": w}

    def call(self, images, seeds=None, boxes=None, training=True):
        if not training:
            return images
        seeds = self._example_seeds(images, seeds)
        height, width = int(images.shape[1]), int(images.shape[2])
        p = self.sample(seeds, height, width, boxes)
        rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1))
        cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width))

        def col(v):
            return ops.reshape(v, (-1, 1, 1))

        mask = ((rows >= col(p["y0"])) & (rows < col(p["y0"] + p["h"]))
                & (cols >= col(p["x0"])) & (cols < col(p["x0"] + p["w"])) & col(p["apply"]))
        mask = ops.expand_dims(mask, -1)
        if self.fill == "noise":
            noise = seeded_uniform(seeds, height * width, _NOISE) * 255.0
            fill = ops.reshape(noise, (-1, height, width, 1))
        else:
            fill = ops.full((1, 1, 1, 1), self.fill_value, dtype=images.dtype)
        return ops.where(mask, ops.cast(fill, images.dtype), images)

    def get_config(self):
        config = super().get_config()
        config.update({"probability": self.probability, "area_range": self.area_range,
                       "aspect": self.aspect, "fill": self.fill, "fill_value": self.fill_value,
                       "default_box": self.default_box})
        return config


def _affine(images, angle, scale, tx, ty, fill_mode):
    """Warps each image: rotation `angle` (rad), zoom `scale` (>1 zooms in), shift (tx, ty) px."""
    height, width = int(images.shape[1]), int(images.shape[2])
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    # Output pixel (x, y) samples the input at M (out - c - t) + c, M = R(-angle) / scale.
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zero = ops.zeros_like(a0)
    transform = ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)
    return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                      fill_mode=fill_mode, data_format="channels_last")


@keras.saving.register_keras_serializable(package="fer_keras")
class RandomAffine(_SeededLayer):
    """Rotation, panning and scaling (the JAFFE expansion set, Light-NTWRN section 4.2).

    Args:
        rotation: maximum rotation in degrees (uniform in [-rotation, rotation]).
        translation: maximum shift as a fraction of the side ("panning").
        scale_range: zoom factor range; > 1 zooms in ("scaling").
        fill_mode: "nearest", "reflect", "constant", "wrap" (keras.ops.image.affine_transform).
    """

    def __init__(self, rotation=15.0, translation=0.1, scale_range=(0.9, 1.1),
                 fill_mode="nearest", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rotation = rotation
        self.translation = translation
        self.scale_range = tuple(scale_range)
        self.fill_mode = fill_mode

    def call(self, images, seeds=None, boxes=None, training=True):
        if not training:
            return images
        u = seeded_uniform(self._example_seeds(images, seeds), 4, _AFFINE)
        height, width = int(images.shape[1]), int(images.shape[2])
        angle = (2.0 * u[:, 0] - 1.0) * math.radians(self.rotation)
        lo, hi = self.scale_range
        scale = lo + u[:, 1] * (hi - lo)
        tx = (2.0 * u[:, 2] - 1.0) * self.translation * width
        ty = (2.0 * u[:, 3] - 1.0) * self.translation * height
        return _affine(images, angle, scale, tx, ty, self.fill_mode)

    def get_config(self):
        config = super().get_config()
        config.update({"rotation": self.rotation, "translation": self.translation,
                       "scale_range": self.scale_range, "fill_mode": self.fill_mode})
        return config


@keras.saving.register_keras_serializable(package="fer_keras")
class RandomCropResize(_SeededLayer):
    """Crops a random square of `area_range` of the image and resizes it back ("cropping")."""

    def __init__(self, area_range=(0.7, 1.0), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 < area_range[0] <= area_range[1] <= 1.0:
            raise ValueError(f"area_range must satisfy 0 < lo <= hi <= 1, got {area_range}")
        self.area_range = tuple(area_range)

    def call(self, images, seeds=None, boxes=None, training=True):
        if not training:
            return images
        u = seeded_uniform(self._example_seeds(images, seeds), 3, _CROP)
        height, width = int(images.shape[1]), int(images.shape[2])
        lo, hi = self.area_range
        side = ops.sqrt(lo + u[:, 0] * (hi - lo))  # crop side as a fraction
        # The crop's centre may move by up to the free margin on each axis.
        tx = (2.0 * u[:, 1] - 1.0) * (1.0 - side) / 2.0 * width / side
        ty = (2.0 * u[:, 2] - 1.0) * (1.0 - side) / 2.0 * height / side
        return _affine(images, ops.zeros_like(side), 1.0 / side, tx * side, ty * side, "nearest")

    def get_config(self):
        config = super().get_config()
        config.update({"area_range": self.area_range})
        return config


@keras.saving.register_keras_serializable(package="fer_keras")
class RandomContrast(_SeededLayer):
    """Scales each image's deviation from its mean by a factor in [1 - factor, 1 + factor]."""

    def __init__(self, factor=0.3, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"factor must be in [0, 1), got {factor}")
        self.factor = factor

    def call(self, images, seeds=None, boxes=None, training=True):
        if not training:
            return images
        u = seeded_uniform(self._example_seeds(images, seeds), 1, _CONTRAST)
        c = ops.reshape(1.0 + (2.0 * u[:, 0] - 1.0) * self.factor, (-1, 1, 1, 1))
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return ops.clip((images - mean) * c + mean, 0.0, 255.0)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config


from fer_keras.data.policies import POLICIES  # noqa: E402 - the names, kept Keras-free

# "flip_affine"'s geometric jitter: milder than the JAFFE expansion's 15 degrees, since FER2013's
# faces are already roughly aligned and their mouth and brows sit near the 48x48 border.
FLIP_AFFINE = {"rotation": 10.0, "translation": 0.1, "scale_range": (0.9, 1.1)}


def augmentation_layers(policy="flip"):
    """The layers of a named policy, applied in order.

    - "none": nothing.
    - "flip": random horizontal flip (I-MobileNetV2's "randomly flipping the samples").
    - "erasing": improved random erasing (Table 2 parameters), then flip (Light-NTWRN).
    - "jaffe_expansion": flip, contrast, rotation + panning + scaling, cropping, then improved
      random erasing (Light-NTWRN section 4.2's JAFFE expansion).
    - "flip_affine": flip, then rotation up to 10 degrees, shifts up to 10 % of the side and
      zoom 0.9-1.1 (`FLIP_AFFINE`). In neither paper: the FER2013 *product* recipe's policy
      (the common FER2013 practice of small geometric jitter), never a paper row's.
    """
    if policy in (None, "none"):
        return []
    if policy == "flip":
        return [HorizontalFlip()]
    if policy == "erasing":
        return [ImprovedRandomErasing(), HorizontalFlip()]
    if policy == "flip_affine":
        return [HorizontalFlip(), RandomAffine(**FLIP_AFFINE)]
    if policy == "jaffe_expansion":
        return [HorizontalFlip(), RandomContrast(), RandomAffine(), RandomCropResize(),
                ImprovedRandomErasing()]
    raise ValueError(f"unknown augmentation policy {policy!r}; known: {POLICIES}")
