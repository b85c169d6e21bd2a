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
    parser.add_argument("--end-to-end", nargs="?", const="i_mobilenetv2_fer2013",
                        metavar="MODEL",
                        help="only the end-to-end section: a photo of six held-out faces to "
                             "labels and a panned video, Haar and MTCNN, beside the fer "
                             "package when importable (default model: %(const)s)")
    parser.add_argument("--deploy", action="store_true",
                        help="only the deploy-form section: I-MobileNetV2 keras form / deploy "
                             "form / int8 beside keras MobileNetV2 1.0, Light-NTWRN before/after "
                             "(TFLite, batch 1, one thread; fer_keras.benchmark.deploy_speed)")
    parser.add_argument("--profile-ops", action=argparse.BooleanOptionalAction, default=None,
                        help="with --deploy: list the operators and blocks that take the time "
                             "(LiteRT's op profiler) for I-MobileNetV2 and MobileNetV2 (default: "
                             "when I-MobileNetV2 is the slower; --no-profile-ops: never)")
    args = parse_quietly(add_verbose_flag(parser), argv)
    if args.deploy:
        return _deploy(args)
    if args.end_to_end:
        return _end_to_end(args)
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


def _end_to_end(args):
    from fer_keras.benchmark import end_to_end

    tiny = {"frames": 3, "litert": False} if args.tiny else {}  # --tiny: a smoke test
    result = end_to_end.run_end_to_end(
        args.end_to_end, repeats=args.repeats or (1 if args.tiny else 5),
        log=None if args.quiet else _progress, **tiny)
    return _print_section(args, result, end_to_end.format_end_to_end_markdown)


def _progress(message):
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


def _print_section(args, result, format_markdown):
    """Prints a section's table (or its JSON with --json -), writes its JSON to --json PATH."""
    if args.json and args.json != "-":
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2) if args.json == "-" else format_markdown(result))
    return 0


def _deploy(args):
    from fer_keras.benchmark import deploy_speed

    result = deploy_speed.run_deploy_section(args.tiny, rounds=args.repeats,
                                             log=None if args.quiet else _progress,
                                             profile=args.profile_ops)
    return _print_section(args, result, deploy_speed.format_deploy_markdown)
