"""`python -m fer_keras.explain`: Grad-CAM heatmaps of the faces in images and videos.

    python -m fer_keras.explain photo.jpg --model i_mobilenetv2_fer2013 --output heatmaps/

Writes each input with its faces' boxes, labels and Grad-CAM overlays (fer_keras.explain) into
OUTPUT (PNG for images, MP4 for videos) and prints one JSON record per face. It is
`python -m fer_keras.predict INPUT... --model MODEL --annotate OUTPUT --heatmap`, which it runs;
the model must be a Keras artifact (a published name, a run or fold folder, a .keras file).
"""

import argparse
import sys


def build_parser():
    p = argparse.ArgumentParser(prog="python -m fer_keras.explain",
                                description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or videos")
    p.add_argument("--model", required=True, help="published model name or Keras artifact path")
    p.add_argument("--output", required=True, metavar="DIR", help="write the overlays here")
    p.add_argument("--models-dir", help="folder of published models")
    p.add_argument("--max-faces", type=int, help="largest N faces per image or frame")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up logs")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    from fer_keras import predict

    forwarded = [*args.inputs, "--model", args.model, "--annotate", args.output, "--heatmap"]
    for flag, value in (("--models-dir", args.models_dir), ("--max-faces", args.max_faces)):
        if value is not None:
            forwarded += [flag, str(value)]
    return predict.main(forwarded + (["--verbose"] if args.verbose else []))


if __name__ == "__main__":
    sys.exit(main())
