"""Two changes that need no training, scored on a published model's selection split: averaging
the predictions of each image and its mirror image (flip test-time augmentation), and
batch-normalisation statistics recomputed on the unaugmented training images.

    python scripts/inference_side_checks.py saved_models/i_mobilenetv2_fer2013 \
        --data-dir ../shared/data/fer2013

The model was trained under augmentation (FER2013's product recipe: `flip_affine`), so its
moving means and variances describe augmented images while it is scored on plain ones; the
recomputed statistics are the exact averages over `--batches` training batches of 128 (momentum
k/(k+1) at batch k), then the model is scored again. Prints the accuracy of each variant on the
split (the run's validation split: FER2013's PublicTest, the selection split, so both figures
are as optimistic as the published one). Nothing is written. docs/results.md has the figures.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a published model's folder (metrics.json beside model.keras)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--batches", type=int, default=0,
                   help="training batches of 128 for the statistics (default 0: all of them)")
    return p


def images(rebuilt, split, channels):
    """(images, labels) of one split, unaugmented."""
    from fer_keras.data import iterate_batches

    indices = rebuilt.indices(split)
    x = np.concatenate([b for b, _ in iterate_batches(rebuilt.dataset, indices, 256,
                                                      training=False, channels=channels)])
    return x, rebuilt.dataset.labels[indices]


def recompute_statistics(model, x, batches, seed=0):
    """Replaces every BatchNormalization layer's moving mean and variance by their averages over
    `batches` shuffled batches of 128 of `x` (all of them when 0)."""
    import keras

    # `_flatten_layers`: Keras's own walk into nested layers (Light-NTWRN's blocks hold BN layers
    # of their own); Keras 3 has no public one.
    norms = [layer for layer in model._flatten_layers()
             if isinstance(layer, keras.layers.BatchNormalization)]
    order = np.random.default_rng(seed).permutation(len(x))
    count = len(x) // 128 if batches <= 0 else min(batches, len(x) // 128)
    for k in range(count):
        for layer in norms:
            layer.momentum = k / (k + 1)  # batch 0 replaces the statistics, then a running mean
        model(x[order[k * 128:(k + 1) * 128]], training=True)
    return len(norms), count


def main(argv=None):
    from fer_keras.data.run_split import rebuild_split
    from fer_keras.inference.evaluation import run_info
    from fer_keras.inference.loading import load_model

    args = build_parser().parse_args(argv)
    path = Path(args.model)
    path = path / "model.keras" if path.is_dir() else path
    info = run_info(path)
    rebuilt = rebuild_split(info, None, args.data_dir, None, None, None, None)
    model = load_model(path).keras_model
    channels = model.input_shape[-1]
    x, y = images(rebuilt, args.split, channels)

    def accuracy(*views):
        probs = sum(model.predict(v, batch_size=256, verbose=0) for v in views)
        return float((probs.argmax(1) == y).mean())

    name = f"{rebuilt.dataset_name} {args.split} split ({len(y)} images)"
    print(f"{path} on {name}")
    print(f"  as published                    {accuracy(x):.2%}")
    print(f"  flip averaged (image + mirror)  {accuracy(x, x[:, :, ::-1]):.2%}")
    layers, count = recompute_statistics(model, images(rebuilt, "train", channels)[0],
                                         args.batches)
    print(f"  statistics of {layers} BN layers recomputed over {count} unaugmented training "
          f"batches  {accuracy(x):.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
