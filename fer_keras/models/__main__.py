"""``python -m fer_keras.models``: parameters, size and multiply-adds of every registered model,
next to the figure the paper reports, as a markdown table."""

import argparse
import json
import sys

from fer_keras.console import add_verbose_flag, parse_quietly


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fer_keras.models", description=__doc__)
    parser.add_argument("--models", nargs="*", help="names (default: every registered model)")
    parser.add_argument("--input-shape", default="48,48,3", help="H,W,C (default 48,48,3)")
    parser.add_argument("--num-classes", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parse_quietly(add_verbose_flag(parser), argv)
    from fer_keras.models.table import format_markdown, model_table

    try:
        shape = tuple(int(v) for v in args.input_shape.split(","))
        rows = model_table(args.models, shape, args.num_classes)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else format_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
