"""`python -m fer_keras.export`: a trained model to SavedModel and three TFLite models, checked.

    python -m fer_keras.export runs/synthetic-i_mobilenetv2-holdout-seed0 --output exported/demo
    python -m fer_keras.export runs/ckplus-.../fold_0/model.keras --output exported/ck \\
        --dataset ckplus --data-dir ../shared/data/ckplus

Writes to `--output`: `model.keras` (a copy, for Grad-CAM), `saved_model/` (signature
`serving_default`: `images` float32 N x H x W x C raw 0-255 -> `probabilities`; signature
`class_names` -> the class names), `model_float32.tflite`, `model_dynamic_range.tflite`
(int8 weights, float activations), `model_int8.tflite` (full integer, int8 input and output,
calibrated on `--calibration-size` training images, each activation range clipped to the
`--activation-percentile` percentile of its values), `model_info.json` (class names, dataset,
input shape, crop scale) and `export_report.json`. The TFLite models are converted from the
model's deploy form (`fer_keras.deployment.deploy_form`: BN folded, SELU in two builtins,
static shapes; `--keras-graph` converts the Keras graph instead).

Every exported model is run on the validation split and compared with the Keras model (top-1
agreement, largest probability difference, accuracy); the float formats must agree within
`--float-tolerance`, the quantised ones must reach `--min-agreement`, or the command exits 1.
The dataset, protocol, fold and split seed default to the run's metrics.json, else synthetic.
Exit codes: 0 success, 1 a check failed, 2 bad input. The functions: `fer_keras.deployment`
(`exporter.export`, `saved_model.write_saved_model`, `tflite_convert.convert_tflite`).
"""

import argparse
import json
import sys

from fer_keras.console import add_verbose_flag, parse_quietly
from fer_keras.deployment.exporter import ACTIVATION_PERCENTILE, ALL_FORMATS, FORMATS, export

__all__ = ["FORMATS", "build_parser", "export", "main", "pin_threads"]


def pin_threads(n):
    """Pins TensorFlow to `n` intra- and inter-op threads; False when TF is already running."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
        return True
    except RuntimeError:
        return False


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.export",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model.keras, a fold folder or a run folder")
    p.add_argument("--output", required=True, help="folder to write the exported models to")
    p.add_argument("--dataset", help="validation / calibration data (default: the run's, "
                                     "else synthetic)")
    p.add_argument("--data-dir", help="dataset folder (default: the run's)")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help=f"comma-separated subset of {','.join(ALL_FORMATS)} (default: all but "
                        "onnx, which needs pip install 'fer_keras[onnx]')")
    p.add_argument("--calibration-size", type=int, default=1000,
                   help="training images for the int8 calibration (200 lost 1.2 points of "
                        "FER2013 accuracy in int8, 1000 lost 0.95: docs/performance.md)")
    p.add_argument("--activation-percentile", type=float, default=ACTIVATION_PERCENTILE,
                   help="int8 activation ranges: this percentile of each tensor's values on the "
                        f"calibration images (default {ACTIVATION_PERCENTILE}; 100: their "
                        "min and max, the converter's own calibration)")
    p.add_argument("--keras-graph", action="store_true",
                   help="convert the Keras graph to TFLite as it is, not its deploy form "
                        "(fer_keras.deployment.deploy_form)")
    p.add_argument("--val-limit", type=int, help="at most this many validation images")
    p.add_argument("--float-tolerance", type=float, default=1e-3)
    p.add_argument("--min-agreement", type=float, default=0.9,
                   help="least top-1 agreement of a quantised model with the Keras model")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (latency)")
    p.add_argument("--json", action="store_true", help="print the report as JSON at the end")
    return add_verbose_flag(p)


def main(argv=None):
    args = parse_quietly(build_parser(), argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ALL_FORMATS]
    if bad:
        print(f"error: unknown format(s) {bad}; known: {', '.join(ALL_FORMATS)}",
              file=sys.stderr)
        return 2
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("error: exporting needs TensorFlow (pip install fer_keras[tf])", file=sys.stderr)
        return 2
    pin_threads(args.threads)
    from fer_keras.data import DataError

    try:
        report = export(args.model, args.output, args.dataset, args.data_dir, formats,
                        args.calibration_size, args.val_limit, args.float_tolerance,
                        args.min_agreement, deploy=not args.keras_graph,
                        activation_percentile=args.activation_percentile)
    except (ValueError, DataError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    if not report["passed"]:
        failed = [k for k, v in report["formats"].items() if not v["passed"]]
        print(f"export check FAILED for {', '.join(failed)}; files are in {args.output}",
              file=sys.stderr)
        return 1
    print(f"exported and checked: {', '.join(report['formats'])} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
