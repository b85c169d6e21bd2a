"""The command line of ``python -m fer_keras.benchmark`` (the usage is the package docstring)."""

import argparse
import json
import sys

from fer_keras.benchmark.report import format_markdown
from fer_keras.benchmark.suite import run
from fer_keras.benchmark.timing import DEFAULT_MODELS
from fer_keras.console import add_verbose_flag, parse_quietly


DESCRIPTION = "speed of the models on this machine, beside its ceilings (docs/performance.md)"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fer_keras.benchmark",
                                     description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="registered model names (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats after warm-up (default 5; 2 with --tiny)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny widths, small batches, 2 repeats: a smoke test")
    parser.add_argument("--json", metavar="PATH", help="also write the JSON here ('-': stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--training", action="store_true",
                        help="only the training section: images/s per engine and backend "
                             "(default models: i_mobilenetv2 light_ntwrn)")
    args = parse_quietly(add_verbose_flag(parser), argv)
    if args.training and args.models == list(DEFAULT_MODELS):
        args.models = ["i_mobilenetv2", "light_ntwrn"]
    from fer_keras.models import list_models

    unknown = [m for m in args.models if m not in list_models()]
    if unknown:
        print(f"error: unknown models {unknown}; registered: {list_models()}", file=sys.stderr)
        return 2
    repeats = args.repeats or (2 if args.tiny else 5)
    log = None if args.quiet else (lambda m: print(f"[benchmark] {m}", file=sys.stderr,
                                                   flush=True))
    if args.training:
        from fer_keras.benchmark import training_speed as throughput

        result = throughput.run_training_section(args.models, args.tiny, log=log)
        table = throughput.format_training_markdown(result)
    else:
        result = run(args.models, repeats, args.tiny, log=log)
        table = format_markdown(result)
    if args.json == "-":
        print(json.dumps(result, indent=2))
    else:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        print(table)
    return 0
