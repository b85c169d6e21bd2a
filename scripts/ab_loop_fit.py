"""Engine "loop" against engine "fit" (TensorFlow), timed in one process, interleaved.

    python scripts/ab_loop_fit.py [--model i_mobilenetv2] [--rounds 6] [--batch 20]

On a shared machine the absolute images/s move with the load; alternating the two engines epoch
by epoch on one model exposes both to the same load, so their ratio is the figure to read
(`fer_keras.training.tf_fit.AUTO_PREFERS_FIT` rests on it). The fold is CK+-sized: 783 synthetic
48x48 images, flip augmentation, the CK+ preset's optimizer (`fer_keras.training.throughput`).
Prints one JSON object: per-round images/s of each engine, their medians, and the per-round
ratio fit / loop with its median (the figure to read).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="i_mobilenetv2")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--batch", type=int, default=20)
    args = p.parse_args()
    from fer_keras.data import make_tf_dataset
    from fer_keras.training import loop, tf_fit
    from fer_keras.training.throughput import TRAIN_EXAMPLES, _fold, _trainer

    ds, indices = _fold(TRAIN_EXAMPLES)
    steps = tf_fit.num_steps(len(indices), args.batch)
    config, _, trainer = _trainer(args.model, args.batch, None, steps)

    def per_step(epoch):
        for xb, yb in make_tf_dataset(ds, indices, args.batch, training=True, augment="flip",
                                      seed=0, epoch=epoch):
            loop.train_step(trainer, xb, np.asarray(yb), None)

    def fit(epoch):
        tf_fit.fit_epoch(trainer, config, ds, indices, epoch, None, Path(os.devnull), 0.0)

    rates = {"loop": [], "fit": []}
    for epoch in range(args.rounds + 1):  # round 0 traces and compiles both
        for name, fn in (("loop", per_step), ("fit", fit)) if epoch % 2 else (
                ("fit", fit), ("loop", per_step)):
            start = time.perf_counter()
            fn(epoch)
            if epoch:
                rates[name].append(len(indices) / (time.perf_counter() - start))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    paired = [f / lo for f, lo in zip(rates["fit"], rates["loop"])]  # same round, same load
    print(json.dumps({"model": args.model, "batch": args.batch, "examples": len(indices),
                      "rounds": args.rounds, "images_per_s": rates, "median": med,
                      "fit_over_loop_per_round": paired,
                      "fit_over_loop_median": float(np.median(paired)),
                      "load_average": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
