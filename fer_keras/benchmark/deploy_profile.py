"""Where the deploy section's models spend their time (`benchmark --deploy`, issue 32 item 3).

When I-MobileNetV2's float32 deploy form is slower than keras MobileNetV2 1.0 (or with
``--profile-ops``), both flatbuffers, exactly as timed, go through LiteRT's op profiler in turns
(`fer_keras.benchmark.op_profile`) and the section lists, for each: the time per XNNPACK
operator kind, the blocks (the Keras layers' ``block`` prefix, e.g. ``stage7_block3``) and the
single operators that take the most, each convolution with its weights' size and the rate at
which it reads them (weights MB / ms: a 1x1 convolution at a 2x2 or 3x3 activation does a few
multiply-adds per weight, so its time is the time to stream its weights from memory).
"""

import re
from collections import defaultdict

from fer_keras.benchmark.timing import INPUT_SHAPE, images

PROFILED = (("i_mobilenetv2", "deploy", "float32"), ("keras_mobilenetv2", "keras", "float32"))
TOP = 8  # blocks and operators listed per model
RUNS = 200
ROUNDS = 10  # the models' runs are taken in turns, this many rounds
OP_SUFFIXES = ("BiasAdd", "convolution", "depthwise", "MatMul")


def profile_rows(built, runs=None, log=None):
    """{row key "model/form/mode": op_profile result} for the `PROFILED` rows of `built`
    (`deploy_speed.build_flatbuffers`' list), profiled in interleaved rounds."""
    from fer_keras.benchmark.op_profile import profile_interleaved

    chosen = [(f"{name}/{form}/{mode}", fb) for name, _, form, mode, fb, _ in built
              if (name, form, mode) in PROFILED]
    runs = runs or RUNS
    if log:
        log(f"deploy: profiling {', '.join(k for k, _ in chosen)} ({runs} runs each, in turns)")
    results = profile_interleaved([fb for _, fb in chosen], images(1, INPUT_SHAPE), runs=runs,
                                  rounds=min(ROUNDS, runs))
    return dict(zip((k for k, _ in chosen), results))


def layer_name(tensor):
    """The Keras layer in a TFLite tensor name ("model_1/stage7_block3_expand_1/BiasAdd;...")."""
    if not tensor:
        return "?"
    names = tensor.split(";")  # fused ops list every tensor name: prefer the convolution's
    name = next((n for n in names if n.rsplit("/", 1)[-1].startswith(OP_SUFFIXES)), names[0])
    parts = name.split("/")
    return re.sub(r"_\d+$", "", parts[-2] if len(parts) > 1 else parts[0])


def block_name(layer):
    """The block a layer belongs to ("stage7_block3_expand" -> "stage7_block3"), else itself."""
    match = re.match(r"^(.*?block_?\d+)", layer)
    return match.group(1) if match else layer


def blocks(profile):
    """[(block, ms, weights bytes)] by time, most first."""
    ms, weights = defaultdict(float), defaultdict(int)
    for node in profile["nodes"]:
        block = block_name(layer_name(node["tensor"]))
        ms[block] += node["ms"]
        weights[block] += node["weight_bytes"]
    return sorted(((b, ms[b], weights[b]) for b in ms), key=lambda t: -t[1])


def _share(ms, profile):
    return f"{ms:.3f} ({100 * ms / profile['invoke_ms']:.0f}%)"


def _rate(ms, weight_bytes):
    return f"{weight_bytes / 1e6 / ms:.1f}" if weight_bytes and ms > 0 else ""


def format_profile_markdown(profiles, top=TOP):
    """The profile's tables: time by operator kind side by side, then each model's top blocks
    and top operators."""
    keys = list(profiles)
    lines = ["Where the time goes: LiteRT's op profiler (XNNPACK's operator timing, whole "
             "microseconds; one thread; mean over the runs kept, runs over 1.5x the median "
             "dropped).", "",
             "| | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    lines.append("| invocation ms (runs kept) | " + " | ".join(
        f"{profiles[k]['invoke_ms']:.3f} ({profiles[k]['runs_kept']}/{profiles[k]['runs']})"
        for k in keys) + " |")
    kinds = sorted({op for p in profiles.values() for op in p["by_type"]},
                   key=lambda op: -max(p["by_type"].get(op, 0) for p in profiles.values()))
    for op in kinds:
        lines.append(f"| {op} | " + " | ".join(
            _share(profiles[k]["by_type"].get(op, 0.0), profiles[k]) for k in keys) + " |")
    lines.append("| not attributed to an operator | " + " | ".join(
        _share(profiles[k]["unattributed_ms"], profiles[k]) for k in keys) + " |")
    lines.append("| weights read by convolutions, MB | " + " | ".join(
        f"{sum(n['weight_bytes'] for n in profiles[k]['nodes']) / 1e6:.2f}" for k in keys) + " |")
    for k in keys:
        p = profiles[k]
        lines += ["", f"{k}: top blocks and operators", "",
                  "| block | ms (share) | weights MB | weights MB/ms |", "|---|---:|---:|---:|"]
        for block, ms, weight_bytes in blocks(p)[:top]:
            lines.append(f"| {block} | {_share(ms, p)} | {weight_bytes / 1e6:.2f} | "
                         f"{_rate(ms, weight_bytes)} |")
        lines += ["", "| XNNPACK operator | TFLite op | layer | ms (share) | weights MB | "
                      "weights MB/ms |", "|---|---|---|---:|---:|---:|"]
        for n in sorted(p["nodes"], key=lambda n: -n["ms"])[:top]:
            lines.append(f"| {n['op']} | {n['tflite_op'] or '?'} | {layer_name(n['tensor'])} | "
                         f"{_share(n['ms'], p)} | {n['weight_bytes'] / 1e6:.2f} | "
                         f"{_rate(n['ms'], n['weight_bytes'])} |")
    return "\n".join(lines)
