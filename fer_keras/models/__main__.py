"""``python -m fer_keras.models``: parameters, size and multiply-adds of every registered model,
next to the figure the paper reports, as a markdown table."""

import argparse
import json
import sys

from fer_keras.console import add_verbose_flag, parse_quietly


def model_table(names=None, input_shape=(48, 48, 3), num_classes=7):
    """One dict per model: name, paper row, params, size, MACs, paper figure, gap."""
    from fer_keras.models.complexity import model_summary
    from fer_keras.models.registry import create_model, get_entry, list_models

    rows = []
    for name in names or list_models():
        entry = get_entry(name)
        summary = model_summary(create_model(name, input_shape=input_shape,
                                             num_classes=num_classes))
        rows.append({"name": name, "row": entry.row, **summary,
                     "paper_params": entry.paper_params, "gap": entry.gap})
    return rows


def format_markdown(rows):
    lines = ["| model | paper row | params | float32 size | MACs / image | paper reports | why they differ |",
             "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['row']} | {r['params'] / 1e6:.2f} M | {r['size_mb']:.2f} MB | "
            f"{r['macs'] / 1e6:.1f} M | {r['paper_params']} | {r['gap']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fer_keras.models", description=__doc__)
    parser.add_argument("--models", nargs="*", help="names (default: every registered model)")
    parser.add_argument("--input-shape", default="48,48,3", help="H,W,C (default 48,48,3)")
    parser.add_argument("--num-classes", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parse_quietly(add_verbose_flag(parser), argv)
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
