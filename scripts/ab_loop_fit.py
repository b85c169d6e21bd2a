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

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="i_mobilenetv2")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--batch", type=int, default=20)
    args = p.parse_args()
    from fer_keras.training.throughput import TRAIN_EXAMPLES, epoch_functions

    functions, _ = epoch_functions(args.model, args.batch)
    rates = {"loop": [], "fit": []}
    for epoch in range(args.rounds + 1):  # round 0 traces and compiles both
        for name in ("loop", "fit") if epoch % 2 else ("fit", "loop"):
            start = time.perf_counter()
            functions[name](epoch)
            if epoch:
                rates[name].append(TRAIN_EXAMPLES / (time.perf_counter() - start))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    paired = [f / lo for f, lo in zip(rates["fit"], rates["loop"])]  # same round, same load
    print(json.dumps({"model": args.model, "batch": args.batch, "examples": TRAIN_EXAMPLES,
                      "rounds": args.rounds, "images_per_s": rates, "median": med,
                      "fit_over_loop_per_round": paired,
                      "fit_over_loop_median": float(np.median(paired)),
                      "load_average": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
