"""fer_keras: Keras 3 reference implementation of I-MobileNetV2 and Light-NTWRN.

Importing this package does not import TensorFlow: the layers and models use ``keras.ops`` only,
so they run on every Keras backend (TensorFlow, JAX, PyTorch).
"""

__version__ = "0.1.0"
