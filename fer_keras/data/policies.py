"""The names of the augmentation policies (`TrainConfig.augment`, `--augment`), without Keras.

Their layers are `fer_keras.data.augment.augmentation_layers(policy)`; the names live here so
that `python -m fer_keras.train --help` lists them without importing Keras and TensorFlow.
"""

POLICIES = ("none", "flip", "erasing", "jaffe_expansion", "flip_affine")
