"""Throughput of the tf.data training pipeline, in augmented batches per second.

    python -m fer_keras.data.throughput --dataset fer2013 --data-dir ../shared/data/fer2013
    python -m fer_keras.data.throughput                # synthetic data, no download

Measures `make_tf_dataset(..., training=True)` end to end (gather, augmentation, channel
conversion, prefetch), after a warm-up, with nothing consuming the batches but the loop. The
numpy path (`iterate_batches`) is timed too with `--numpy`.
"""

import argparse
import json
import os
import time


def measure(ds, batch_size=64, augment="erasing", steps=200, warmup=20, numpy_path=False,
            channels=3):
    """Returns batches/s and images/s of the training pipeline over `steps` batches."""
    import numpy as np

    from fer_keras.data import iterate_batches, make_tf_dataset

    indices = np.arange(len(ds))
    epochs = -(-(steps + warmup) * batch_size // len(ds)) + 1
    if numpy_path:
        def gen():
            for e in range(epochs):
                yield from iterate_batches(ds, indices, batch_size, True, channels, augment, 0, e)
        it = gen()
    else:
        it = iter(make_tf_dataset(ds, indices, batch_size, True, channels, augment, 0, 0,
                                  num_epochs=epochs, drop_remainder=True))
    for _ in range(warmup):
        next(it)
    start = time.perf_counter()
    for _ in range(steps):
        next(it)
    seconds = time.perf_counter() - start
    return {"batches_per_s": steps / seconds, "images_per_s": steps * batch_size / seconds,
            "batch_size": batch_size, "augment": augment, "steps": steps,
            "pipeline": "numpy" if numpy_path else "tf.data", "cpu_count": os.cpu_count()}


def main(argv=None):
    from fer_keras.data import load_dataset

    p = argparse.ArgumentParser(prog="python -m fer_keras.data.throughput", description=__doc__)
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--augment", default="erasing")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--numpy", action="store_true", help="time iterate_batches instead")
    args = p.parse_args(argv)
    options = {"num_examples": 2000} if args.dataset == "synthetic" else {}
    ds = load_dataset(args.dataset, args.data_dir, **options)
    result = measure(ds, args.batch_size, args.augment, args.steps, numpy_path=args.numpy)
    result["dataset"] = ds.name
    print(json.dumps(result))


if __name__ == "__main__":
    main()
