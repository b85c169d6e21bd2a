"""A/B of 3x3 depthwise convolution formulations on TensorFlow's CPU (docs/performance.md, "What
the remaining training time is"): forward + backward (input and kernel gradients) of one layer.

    python scripts/depthwise_ab.py [--channels 96] [--stride 1] [--batch 30] [--size 48]

Formulations, each in a `tf.function` with a `GradientTape`, timed interleaved (so each sees the
same load), median of `--repeats`:
- `depthwise_conv2d`: `tf.nn.depthwise_conv2d`, what `keras.layers.DepthwiseConv2D` runs;
- `conv2d_groups`: `tf.nn.conv2d` with a (3, 3, 1, C) kernel, i.e. C groups of one channel;
- `shifted`: nine shifted slices of the padded input, each times one kernel tap, summed.
Prints each one's largest relative difference from the first (output, input gradient, kernel
gradient), median seconds and GMAC/s (3 passes of the layer's multiply-adds).
"""

import argparse
import time

import numpy as np


def formulations(tf, size, stride):
    def depthwise_conv2d(x, k):
        return tf.nn.depthwise_conv2d(x, k, [1, stride, stride, 1], "SAME")

    def conv2d_groups(x, k):
        return tf.nn.conv2d(x, tf.transpose(k, [0, 1, 3, 2]), [1, stride, stride, 1], "SAME")

    def shifted(x, k):
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        return tf.add_n([padded[:, i:i + size:stride, j:j + size:stride, :] * k[i, j, :, 0]
                         for i in range(3) for j in range(3)])

    return {"depthwise_conv2d": depthwise_conv2d, "conv2d_groups": conv2d_groups,
            "shifted": shifted}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--channels", type=int, default=96)
    p.add_argument("--stride", type=int, default=1, choices=(1, 2))
    p.add_argument("--batch", type=int, default=30)
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((args.batch, args.size, args.size, args.channels),
                                        dtype=np.float32))
    k = tf.Variable(rng.standard_normal((3, 3, args.channels, 1), dtype=np.float32))

    def step_of(f):
        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x, k)
                loss = tf.reduce_sum(y * y)
            return (y, *tape.gradient(loss, [x, k]))
        return step

    steps = {name: step_of(f) for name, f in formulations(tf, args.size, args.stride).items()}
    results = {name: [t.numpy() for t in step(x)] for name, step in steps.items()}  # + tracing
    seconds = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step(x)[2].numpy()
            seconds[name].append(time.perf_counter() - start)
    out = -(-args.size // args.stride)
    macs = 3 * args.batch * out * out * args.channels * 9
    reference = results["depthwise_conv2d"]
    print(f"batch {args.batch}, {args.size}x{args.size}x{args.channels}, stride {args.stride}; "
          f"median of {args.repeats}")
    print("| formulation | max relative difference (y, dx, dk) | seconds | GMAC/s |")
    print("|---|---|---:|---:|")
    for name, values in results.items():
        diff = ", ".join(f"{np.max(np.abs(a - b)) / np.max(np.abs(b)):.1e}"
                         for a, b in zip(values, reference))
        median = float(np.median(seconds[name]))
        print(f"| `{name}` | {diff} | {median:.4f} | {macs / median / 1e9:.1f} |")


if __name__ == "__main__":
    main()
