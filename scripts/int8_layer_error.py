"""Per-tensor error of a model's int8 TFLite against its float32 TFLite, for several activation
range percentiles (fer_keras.deployment.int8_error, fer_keras.deployment.activation_ranges).

    python scripts/int8_layer_error.py saved_models/i_mobilenetv2_fer2013 \
        --data-dir ../shared/data/fer2013 --percentiles 100,99.99 \
        --figure docs/figures/int8-layer-error.png

Both TFLite models are converted from the model's deploy form (the int8 one as `export` ships
it: calibrated on `--calibration-size` training images, ELU fused), then run on `--images`
validation images. Prints, per int8 tensor, the relative RMS error and the int8 step over the
float tensor's standard deviation at each percentile, then the last tensor's (the output's)
figures; `--figure` draws the relative error along the network, one line per percentile.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model.keras or a folder holding one (metrics.json beside it)")
    p.add_argument("--dataset", help="default: the model's metrics.json")
    p.add_argument("--data-dir", help="dataset folder")
    p.add_argument("--percentiles", default="100,99.99",
                   help="comma-separated activation percentiles (100: min/max)")
    p.add_argument("--calibration-size", type=int, default=1000)
    p.add_argument("--images", type=int, default=200, help="validation images compared")
    p.add_argument("--figure", help="write the relative error along the network here (PNG)")
    return p


def short(name):
    """The first op name of a TFLite tensor name, without the model prefix."""
    first = name.split(";")[0]
    return first.split("/", 1)[-1] if "/" in first else first


def figure(curves, title, path):
    from fer_keras.plots.canvas import new_figure

    fig = new_figure((9, 3.6))
    ax = fig.add_subplot()
    for label, rows in curves.items():
        ax.plot([r["relative_rmse"] for r in rows], label=label, linewidth=1.2)
    ax.set_xlabel("int8 tensor, in network order (stem left, probabilities right)")
    ax.set_ylabel("RMS error / std of the float tensor")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110)


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras

    import fer_keras.layers  # noqa: F401 - registers the custom layers
    from fer_keras.deployment.activation_ranges import check_percentile
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.deployment.exporter import load_split_images
    from fer_keras.deployment.int8_elu import int8_elu_flatbuffer
    from fer_keras.deployment.int8_error import layer_errors
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite
    from fer_keras.training.weights import find_model_file

    percentiles = [check_percentile(p) for p in args.percentiles.split(",")]
    file = Path(find_model_file(args.model, "model"))
    info_file = file.parent / "metrics.json"
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    model = keras.saving.load_model(file, safe_mode=True)
    channels = model.inputs[0].shape[-1]
    dataset = args.dataset or info.get("dataset") or "synthetic"
    calibration, _, _, cal_desc = load_split_images(dataset, args.data_dir, info, channels,
                                                    "train", args.calibration_size)
    x, _, _, val_desc = load_split_images(dataset, args.data_dir, info, channels, "val",
                                          args.images)
    print(f"{file}: calibration {cal_desc}; compared on {val_desc}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        saved = write_saved_model(deploy_form(model, batch_size=None, integer="elu"),
                                  Path(tmp) / "saved")
        reference = convert_tflite(saved, "float32")
        curves = {}
        for p in percentiles:
            int8 = int8_elu_flatbuffer(saved, calibration, activation_percentile=p)
            curves["min/max" if p >= 100 else f"percentile {p:g}"] = layer_errors(
                reference, int8, x)
    labels = list(curves)
    names = [r["name"] for r in curves[labels[0]]]
    by_name = {label: {r["name"]: r for r in rows} for label, rows in curves.items()}
    print("  ".join(f"{label[:14]:>14} err  step/std" for label in labels) + "  tensor")
    for name in names:
        cells = []
        for label in labels:
            r = by_name[label].get(name)
            cells.append(f"{r['relative_rmse']:18.4f} {r['step_over_std']:9.4f}" if r
                         else " " * 28)
        print("  ".join(cells) + f"  {short(name)}")
    for label, rows in curves.items():
        print(f"{label}: output relative RMS error {rows[-1]['relative_rmse']:.4f}, median "
              f"step/std {sorted(r['step_over_std'] for r in rows)[len(rows) // 2]:.4f} over "
              f"{len(rows)} tensors")
    if args.figure:
        figure(curves, f"int8 vs float32 TFLite, {file.parent.name} ({val_desc})", args.figure)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
