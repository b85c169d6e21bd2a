"""Writes a published model into the package (fer_keras/pretrained/<name>/) as float16 weights.

    python scripts/package_pretrained.py saved_models/i_mobilenetv2_fer2013 \
        --data-dir ../shared/data/fer2013

Writes `model.weights.h5` (every float32 array stored as float16; loaded back into the float32
model) and `model_info.json` (registered model, input shape, classes, the source's accuracy),
then measures the loaded package model against the source `model.keras` on the source's
evaluation split (FER2013: PublicTest): top-1 agreement, the largest difference of any class
probability and both models' accuracy; then it fits the package model's own temperature on its
validation split (`fer_keras.inference.evaluation.calibrate_model`, as `python -m
fer_keras.calibrate --write` does), so that `Predictor` calibrates the package copy as it does the published model. The
figures go into model_info.json; docs/deployment.md's tables are written from it by
`python -m fer_keras.reproduce report ... --deployment docs/deployment.md`.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def to_float16(src, dst):
    """Copies a Keras `.weights.h5` file, storing float32 datasets as float16."""
    import h5py

    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key, value in fin.attrs.items():
            fout.attrs[key] = value

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                out = fout.require_group(name)
            else:
                data = obj[()]
                out = fout.create_dataset(
                    name, data=data.astype(np.float16) if data.dtype == np.float32 else data)
            for key, value in obj.attrs.items():
                out.attrs[key] = value

        fin.visititems(copy)


def split_images(metrics, data_dir):
    """Images (raw 0-255, model channels), labels and usage name of the split the source model
    was evaluated on."""
    from fer_keras.data import load_dataset

    ds = load_dataset(metrics["dataset"], data_dir)
    usage = {"val": "PublicTest", "test": "PrivateTest"}[metrics["split"]]
    idx = np.flatnonzero(np.asarray(ds.usage) == usage)
    x = ds.images[idx].astype(np.float32).reshape(len(idx), 48, 48, -1)
    if list(ds.class_names) != list(metrics["class_names"]):
        raise ValueError(f"the data's classes {ds.class_names} are not the model's "
                         f"{metrics['class_names']}")
    x = np.repeat(x, metrics["config"]["channels"] // x.shape[-1], axis=-1)
    return x, ds.labels[idx], usage


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a published model folder (saved_models/NAME)")
    parser.add_argument("--data-dir", required=True, help="the source dataset's folder")
    parser.add_argument("--output", type=Path, default=ROOT / "fer_keras" / "pretrained")
    args = parser.parse_args(argv)

    import keras

    import fer_keras.models  # noqa: F401 - registers the custom layers
    from fer_keras import pretrained
    from fer_keras.inference.evaluation import calibrate_model
    from fer_keras.models.saving import build_published

    metrics = json.loads((args.source / "metrics.json").read_text())
    dest = args.output / args.source.name
    dest.mkdir(parents=True, exist_ok=True)
    reference = keras.saving.load_model(str(args.source / "model.keras"), safe_mode=True,
                                        compile=False)
    float32_file = dest / "float32.weights.h5"
    reference.save_weights(str(float32_file))
    to_float16(float32_file, dest / "model.weights.h5")
    float32_file.unlink()
    info = {"model": metrics["model"], "model_kwargs": metrics["config"].get("model_kwargs", {}),
            "input_shape": [int(v) for v in reference.inputs[0].shape[1:]],
            "num_classes": len(metrics["class_names"]), "class_names": metrics["class_names"],
            "dataset": metrics["dataset"], "storage": "float16 weights, float32 computation",
            "source": f"saved_models/{args.source.name} (git {metrics.get('git_revision')})",
            "source_accuracy": {"split": metrics["split"], "accuracy": metrics["accuracy"]}}
    (dest / pretrained.INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")

    packaged = build_published(dest / "model.weights.h5")
    x, y, usage = split_images(metrics, args.data_dir)
    p_ref = reference.predict(x, batch_size=256, verbose=0)
    p_pkg = packaged.predict(x, batch_size=256, verbose=0)
    info["agreement"] = {
        "split": usage, "images": len(x),
        "top1_agreement": float(np.mean(p_ref.argmax(1) == p_pkg.argmax(1))),
        "max_probability_difference": float(np.abs(p_ref - p_pkg).max()),
        "accuracy": float(np.mean(p_pkg.argmax(1) == y)),
        "reference_accuracy": float(np.mean(p_ref.argmax(1) == y)),
    }
    info["calibration"] = calibrate_model(dest, dataset=metrics["dataset"],
                                          data_dir=args.data_dir)
    (dest / pretrained.INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    size = (dest / "model.weights.h5").stat().st_size / 1e6
    print(json.dumps({**info["agreement"], "size_mb": round(size, 2),
                      "temperature": round(info["calibration"]["temperature"], 4)}))


if __name__ == "__main__":
    main()
