"""TensorBoard scalars of each epoch (`fold_K/logs/`), written only where TensorFlow is installed."""


def summary_writer(logdir):
    """A TensorBoard event writer when TensorFlow is installed (and this process writes the run
    folder, `artifacts.writes`), else None.

    Scalars are written with `tf.summary.write` and the "scalars" plugin tag, which needs only
    TensorFlow (not the `tensorboard` package).
    """
    from fer_keras.training.artifacts import writes

    if not writes():  # a distributed run's non-chief process
        return None
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf.summary.create_file_writer(str(logdir))


def write_scalars(writer, row):
    if writer is None:
        return
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    with writer.as_default():
        for key, value in row.items():
            if key != "epoch":
                tf.summary.write(key, tf.constant(float(value)), step=row["epoch"],
                                 metadata=metadata)
    writer.flush()
