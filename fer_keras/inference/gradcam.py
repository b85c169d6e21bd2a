"""Grad-CAM (Selvaraju et al., ICCV 2017) heatmaps for any fer_keras classifier.

    from fer_keras.inference.gradcam import grad_cam   # also fer_keras.explain.grad_cam
    heatmap = grad_cam(model, face)          # H x W in [0, 1], face's spatial size

The feature map is the output of the last layer with a 4-D output whose spatial size exceeds
1 x 1 (I-MobileNetV2: the last bottleneck's add, Light-NTWRN: the last block's add); `layer`
picks another. The class score is taken before the softmax when the model ends in one (the
paper's y^c), so saturated probabilities still give a gradient. Channel weights are the spatially
averaged gradients; the map is ReLU(sum_k w_k A^k), resized bilinearly to the input size and
scaled to [0, 1] (all zeros when nothing is positive). Gradients use the running backend's
autodiff: TensorFlow (GradientTape), JAX (`jax.grad`) or PyTorch (`backward`).
"""

import warnings

import numpy as np


def find_target_layer(model):
    """The last layer with a 4-D output larger than 1 x 1 in space (ValueError if none)."""
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1:
            return layer
    raise ValueError(f"model {model.name!r} has no layer with a 4-D output for Grad-CAM")


def _score_tensor(model):
    """The pre-softmax output when the model ends in a softmax layer, else the output."""
    last = model.layers[-1]
    is_softmax = type(last).__name__ == "Softmax" or (
        type(last).__name__ == "Activation"
        and getattr(getattr(last, "activation", None), "__name__", "") == "softmax")
    if is_softmax:
        return last.input
    return model.outputs[0]


def _split(model, layer):
    """(features model: input -> A, head model: A -> score), both functional."""
    import keras

    features = keras.Model(model.inputs, layer.output)
    head = keras.Model(layer.output, _score_tensor(model))
    return features, head


def _gradients(head, feats, index):
    """d score[index] / d feats for a single example, on the running backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        a = tf.convert_to_tensor(feats)
        with tf.GradientTape() as tape:
            tape.watch(a)
            score = head(a, training=False)[:, index]
        return np.asarray(tape.gradient(score, a))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        grad = jax.grad(lambda a: jnp.sum(head(a, training=False)[:, index]))
        return np.asarray(grad(jnp.asarray(feats)))
    if backend == "torch":
        import torch

        a = torch.as_tensor(feats).clone().requires_grad_(True)
        head(a, training=False)[:, index].sum().backward()
        return a.grad.detach().cpu().numpy()
    raise NotImplementedError(f"Grad-CAM has no gradient code for the {backend!r} backend")


def grad_cam(model, image, class_index=None, layer=None):
    """Grad-CAM heatmap of one preprocessed image.

    Args:
        model: a Keras functional model (a fer_keras model or any CNN classifier).
        image: H x W x C float array as the model takes it (raw 0-255 pixels for fer_keras),
            or 1 x H x W x C.
        class_index: class to explain; None explains the predicted class.
        layer: a layer name or layer; None picks `find_target_layer(model)`.

    Returns:
        (heatmap H x W float32 in [0, 1], class_index, probabilities K float32).
    """
    import keras

    x = np.asarray(image, np.float32)
    if x.ndim == 3:
        x = x[None]
    expected = tuple(model.inputs[0].shape[1:])
    if x.ndim != 4 or x.shape[0] != 1 or any(e is not None and e != s
                                              for e, s in zip(expected, x.shape[1:])):
        raise ValueError(f"image must have shape {expected} (or 1 x that), got {image.shape}")
    target = model.get_layer(layer) if isinstance(layer, str) else (layer or
                                                                    find_target_layer(model))
    with warnings.catch_warnings():  # Keras warns when a named input gets a bare tensor
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        return _grad_cam(model, x, target, class_index)


def _grad_cam(model, x, target, class_index):
    import keras

    features, head = _split(model, target)
    feats = keras.ops.convert_to_numpy(features(x, training=False))
    probs = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), np.float32)[0]
    if class_index is None:
        class_index = int(np.argmax(probs))
    if not 0 <= class_index < probs.shape[-1]:
        raise ValueError(f"class_index {class_index} outside 0..{probs.shape[-1] - 1}")
    grads = _gradients(head, feats, class_index)
    weights = grads[0].mean(axis=(0, 1))                      # alpha_k^c, eq. 1
    cam = np.maximum((feats[0] * weights).sum(axis=-1), 0.0)  # ReLU(sum_k alpha_k A^k), eq. 2
    import cv2

    cam = cv2.resize(cam.astype(np.float32), (x.shape[2], x.shape[1]),
                     interpolation=cv2.INTER_LINEAR)
    top = float(cam.max())
    cam = cam / top if top > 0 else np.zeros_like(cam)
    return cam.astype(np.float32), int(class_index), probs


def overlay(image_bgr, heatmap, box=None, alpha=0.4):
    """Blends a [0, 1] heatmap (JET colours) onto a uint8 BGR image, inside `box` if given."""
    import cv2

    out = image_bgr.copy()
    x, y, w, h = box if box is not None else (0, 0, out.shape[1], out.shape[0])
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(out.shape[1], x + w), min(out.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return out
    heat = cv2.resize(heatmap, (w, h), interpolation=cv2.INTER_LINEAR)
    heat = heat[y0 - y:y1 - y, x0 - x:x1 - x]
    colour = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)
    out[y0:y1, x0:x1] = cv2.addWeighted(out[y0:y1, x0:x1], 1 - alpha, colour, alpha, 0)
    return out


__all__ = ["find_target_layer", "grad_cam", "overlay"]
