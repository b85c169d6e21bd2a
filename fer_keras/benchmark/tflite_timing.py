"""TFLite models converted as `export` converts them (`convert_tflite`) and their batch-1
latency: the benchmark times exactly the flatbuffers `export` ships."""

from fer_keras.benchmark.timing import INPUT_SHAPE, images, median_time


def tflite_bytes(saved_model_dir, mode="float32", input_shape=INPUT_SHAPE, calibration=8):
    """A TFLite flatbuffer converted as `export` converts it (`convert_tflite`): "float32", or
    "int8" full integer (int8 input and output) calibrated on `calibration` random images."""
    import numpy as np

    from fer_keras.deployment.tflite_convert import convert_tflite

    representative = None
    if mode == "int8":
        representative = np.concatenate([images(1, input_shape, seed=100 + i)
                                         for i in range(calibration)])
    return convert_tflite(saved_model_dir, mode, representative)


def tflite_latency(flatbuffer, repeats, input_shape=INPUT_SHAPE, threads=1):
    """Median seconds of one batch-1 TFLite inference on ``threads`` threads.

    Only `invoke` is timed; a quantised input is quantised once beforehand. The interpreter is
    ai-edge-litert's where installed (the project's TFLite runtime, `fer_keras.inference.tflite`),
    else TensorFlow's deprecated `tf.lite.Interpreter`.
    """
    from fer_keras.inference.tflite import make_interpreter, quantize_input

    interpreter = make_interpreter(model_content=flatbuffer, num_threads=threads)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], quantize_input(images(1, input_shape), detail))
    return median_time(interpreter.invoke, repeats, warmup=3)
