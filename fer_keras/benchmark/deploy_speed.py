"""The deploy form's section (`python -m fer_keras.benchmark --deploy`, issue 32 items 1-3).

In one run, on one thread, batch 1, TFLite float32 converted as `export` converts it
(`write_saved_model` then `convert_tflite`), side by side:

- I-MobileNetV2 as its Keras graph ("keras form") and as its deploy form
  (`fer_keras.deployment.deploy_form`), and the full-integer int8 model `export` ships (the
  deploy form's "elu" flavour with ELU made int8 by `fer_keras.deployment.int8_elu`, int8
  input and output), and for comparison the former integer flavour and the int8 model of the
  float flavour, whose ELU and NEG the quantizer leaves in float;
- ``keras.applications.MobileNetV2`` (alpha 1.0, ``weights=None``, the same 48x48x3 input and
  7 classes), converted the same way, float32 and int8: the paper's Table 4 comparison;
- Light-NTWRN, keras form and deploy form.

The published models are used where found (`fer_keras.pretrained`: `i_mobilenetv2_fer2013`,
`light_ntwrn_ckplus`), else randomly initialised ones; int8 models are calibrated on real
validation images of the model's dataset when its data is reachable, else on random images
(said in the result). The flatbuffers are timed in interleaved rounds (every model once per
round, `rounds` rounds, each the median of `invokes` invocations) and each figure is the median
over rounds, so that a moment of load on a shared machine falls on every model alike. Each
model's ops are counted in its flatbuffer (`fer_keras.inference.tflite.list_ops`). Where
I-MobileNetV2's float32 deploy form is slower than the baseline (or `profile` is set), both go
through LiteRT's op profiler (`fer_keras.benchmark.deploy_profile`) and the result says which
operators and blocks take the time. The dynamic-range rows (int8 weights, float activations:
not the same function, weights rounded) show what the weights' bytes cost, since at batch 1 the
late 1x1 convolutions stream their weights from memory.
"""

import os
import tempfile
import time

import numpy as np

from fer_keras.benchmark.timing import INPUT_SHAPE, NUM_CLASSES, TINY_KWARGS, images

PUBLISHED = {"i_mobilenetv2": "i_mobilenetv2_fer2013", "light_ntwrn": "light_ntwrn_ckplus"}
BASELINE = "keras_mobilenetv2"
CALIBRATION = 200  # validation images for the int8 calibration
FLOAT_TARGET = "I-MobileNetV2 deploy float32 faster than MobileNetV2 1.0 float32"
WEIGHTS_NOTE = "int8 weights, float activations (weights rounded: not the same function)"


def _published_or_random(name, tiny, log):
    """(model, where its weights came from, metrics.json dict or {})."""
    import json

    from fer_keras.models import create_model
    from fer_keras.pretrained import find_published

    if not tiny and name in PUBLISHED:
        try:
            folder = find_published(PUBLISHED[name])
        except ValueError:
            folder = None
        if folder is not None and (folder / "model.keras").is_file():
            from fer_keras.models.saving import load_keras_file

            metrics = folder / "metrics.json"
            info = json.loads(metrics.read_text()) if metrics.is_file() else {}
            log(f"deploy: {name} from {folder}")
            return load_keras_file(folder / "model.keras", compile=False), folder.name, info
    from fer_keras.models import get_entry

    kwargs = TINY_KWARGS.get(get_entry(name).family, {}) if tiny else {}
    return (create_model(name, input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES, **kwargs),
            "random initialisation", {})


def _calibration(info, tiny, log):
    """(float32 raw-pixel images, what they are) for the int8 calibration."""
    if info.get("dataset") and not tiny:
        try:
            from fer_keras.deployment.exporter import load_split_images

            x, _, _, desc = load_split_images(info["dataset"], None, info, INPUT_SHAPE[-1],
                                              "val", CALIBRATION)
            return x, desc
        except Exception as err:  # noqa: BLE001 - the data may be absent: random images then
            log(f"deploy: no validation images for calibration ({err}); random images used")
    n = 4 if tiny else CALIBRATION
    return np.concatenate([images(1, INPUT_SHAPE, seed=100 + i) for i in range(n)]), \
        f"{n} random images"


def _flatbuffer(model, mode="float32", representative=None):
    from fer_keras.deployment.saved_model import write_saved_model
    from fer_keras.deployment.tflite_convert import convert_tflite

    with tempfile.TemporaryDirectory() as tmp:
        return convert_tflite(write_saved_model(model, os.path.join(tmp, "saved")), mode,
                              representative)


def _int8_elu(model, calibration):
    """The int8 model as `export` ships it: ELU as an int8 op (`fer_keras.deployment.int8_elu`)."""
    from fer_keras.deployment.deploy_form import deploy_form
    from fer_keras.deployment.int8_elu import int8_elu_flatbuffer
    from fer_keras.deployment.saved_model import write_saved_model

    with tempfile.TemporaryDirectory() as tmp:
        saved = write_saved_model(deploy_form(model, integer="elu"), os.path.join(tmp, "saved"))
        return int8_elu_flatbuffer(saved, calibration)


def _baseline(tiny):
    from fer_keras.models import create_model

    kwargs = TINY_KWARGS["baseline"] if tiny else {}
    return create_model(BASELINE, input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES, **kwargs)


def build_flatbuffers(tiny=False, log=None):
    """[(row name, model, form, mode, flatbuffer, note)] of the section, converted."""
    from fer_keras.deployment.deploy_form import deploy_form

    log = log or (lambda m: None)
    rows = []
    imn, imn_from, imn_info = _published_or_random("i_mobilenetv2", tiny, log)
    calibration, cal_desc = _calibration(imn_info, tiny, log)
    imn_deploy = deploy_form(imn)
    log("deploy: converting I-MobileNetV2 (keras form, deploy form, int8)")
    rows.append(("i_mobilenetv2", imn_from, "keras", "float32", _flatbuffer(imn), ""))
    rows.append(("i_mobilenetv2", imn_from, "deploy", "float32", _flatbuffer(imn_deploy), ""))
    rows.append(("i_mobilenetv2", imn_from, "deploy", "int8", _int8_elu(imn, calibration),
                 f"as export ships it: ELU as an int8 op, calibrated on {cal_desc}"))
    rows.append(("i_mobilenetv2", imn_from, "deploy", "int8 (integer flavour)",
                 _flatbuffer(deploy_form(imn, integer=True), "int8", calibration),
                 "ELU spelled with EXP, RELU, SUB (shipped before 2026-12-06)"))
    rows.append(("i_mobilenetv2", imn_from, "deploy", "int8 (ELU, NEG float)",
                 _flatbuffer(imn_deploy, "int8", calibration),
                 "float flavour: the quantizer leaves ELU and NEG in float"))
    rows.append(("i_mobilenetv2", imn_from, "deploy", "dynamic range",
                 _flatbuffer(imn_deploy, "dynamic_range"), WEIGHTS_NOTE))
    log("deploy: converting keras.applications.MobileNetV2 1.0 (float32, int8)")
    base = _baseline(tiny)
    rows.append((BASELINE, "weights=None", "keras", "float32", _flatbuffer(base), ""))
    rows.append((BASELINE, "weights=None", "keras", "dynamic range",
                 _flatbuffer(base, "dynamic_range"), WEIGHTS_NOTE))
    rows.append((BASELINE, "weights=None", "keras", "int8",
                 _flatbuffer(base, "int8", calibration), f"calibrated on {cal_desc}"))
    ntwrn, ntwrn_from, _ = _published_or_random("light_ntwrn", tiny, log)
    log("deploy: converting Light-NTWRN (keras form, deploy form)")
    rows.append(("light_ntwrn", ntwrn_from, "keras", "float32", _flatbuffer(ntwrn), ""))
    rows.append(("light_ntwrn", ntwrn_from, "deploy", "float32",
                 _flatbuffer(deploy_form(ntwrn)), ""))
    return rows


def interleaved_latency(flatbuffers, rounds=7, invokes=30, threads=1):
    """Median ms of one batch-1 invocation per flatbuffer, timed in interleaved rounds."""
    from fer_keras.benchmark.timing import median_time
    from fer_keras.inference.tflite import make_interpreter, quantize_input

    interpreters = []
    for fb in flatbuffers:
        it = make_interpreter(model_content=fb, num_threads=threads)
        detail = it.get_input_details()[0]
        it.set_tensor(detail["index"], quantize_input(images(1, INPUT_SHAPE), detail))
        it.invoke()
        interpreters.append(it)
    per_round = [[] for _ in flatbuffers]
    for _ in range(rounds):
        for i, it in enumerate(interpreters):
            per_round[i].append(1e3 * median_time(it.invoke, invokes, warmup=2))
    return [float(np.median(r)) for r in per_round], per_round


def run_deploy_section(tiny=False, rounds=None, invokes=None, log=None, profile=None):
    """The section's result: one row per (model, form, mode) with latency, ops and notes, and
    under "profile" the op profiles (`deploy_profile.profile_rows`) when I-MobileNetV2 misses
    the float32 target, or always with `profile` True (never with False)."""
    from fer_keras.inference.tflite import list_ops, op_counts

    log = log or (lambda m: None)
    load_before = os.getloadavg()
    start = time.time()
    built = build_flatbuffers(tiny, log)
    rounds, invokes = rounds or (2 if tiny else 9), invokes or (3 if tiny else 40)
    log(f"deploy: timing {len(built)} models in {rounds} interleaved rounds")
    medians, per_round = interleaved_latency([b[4] for b in built], rounds, invokes)
    rows = []
    for (name, source, form, mode, fb, note), ms, all_ms in zip(built, medians, per_round):
        ops = list_ops(model_content=fb)
        rows.append({"model": name, "weights": source, "form": form, "mode": mode,
                     "latency_ms": ms, "latency_ms_rounds": all_ms, "size_bytes": len(fb),
                     "num_ops": len(ops), "ops": op_counts(ops),
                     "float_ops": sorted({o["op"] for o in ops if o["float_inputs"]
                                          and o["op"] not in ("QUANTIZE", "DEQUANTIZE")})
                     if mode.startswith("int8") else None, "note": note})
    result = {"tiny": tiny, "rounds": rounds, "invokes_per_round": invokes, "threads": 1,
              "load_average_before": load_before,
              "seconds": round(time.time() - start, 1), "rows": rows}
    result["targets"] = targets(rows)
    missed = any(not t["met"] for t in result["targets"] if t["target"] == FLOAT_TARGET)
    if profile or (profile is None and missed):
        from fer_keras.benchmark.deploy_profile import profile_rows

        try:
            result["profile"] = profile_rows(built, runs=20 if tiny else None, log=log)
        except (ImportError, OSError, RuntimeError, AttributeError) as err:  # another LiteRT
            result["profile_error"] = f"LiteRT's op profiler failed: {err}"
            log(result["profile_error"])
    result["load_average_after"] = os.getloadavg()
    return result


def _row(rows, model, form, mode):
    return next((r for r in rows if (r["model"], r["form"], r["mode"]) == (model, form, mode)),
                None)


def targets(rows):
    """Issue 32's targets, each met or not, with the ops to look at when not."""
    imn = _row(rows, "i_mobilenetv2", "deploy", "float32")
    base = _row(rows, BASELINE, "keras", "float32")
    int8 = _row(rows, "i_mobilenetv2", "deploy", "int8")
    out = []
    if imn and base:
        met = imn["latency_ms"] < base["latency_ms"]
        entry = {"target": FLOAT_TARGET,
                 "met": met, "ratio": imn["latency_ms"] / base["latency_ms"]}
        if not met:
            entry["ops_beyond_baseline"] = {
                op: n - base["ops"].get(op, 0) for op, n in imn["ops"].items()
                if n > base["ops"].get(op, 0)}
        out.append(entry)
    if imn and int8:
        out.append({"target": "I-MobileNetV2 int8 faster than its float32 deploy form",
                    "met": int8["latency_ms"] < imn["latency_ms"],
                    "ratio": int8["latency_ms"] / imn["latency_ms"]})
        out.append({"target": "I-MobileNetV2 int8 fully integer", "met": not int8["float_ops"],
                    "float_ops": int8["float_ops"]})
    return out


def _ops_text(ops):
    return ", ".join(f"{k} x{v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1]))


def format_deploy_markdown(result):
    """The section's tables: latency, then the ops of every model, then the targets."""
    lines = [f"TFLite batch 1, one thread, median of {result['rounds']} interleaved rounds of "
             f"{result['invokes_per_round']} invocations; load average before "
             f"{', '.join(f'{v:.2f}' for v in result['load_average_before'])}, after "
             f"{', '.join(f'{v:.2f}' for v in result['load_average_after'])}"
             f"{' (tiny widths)' if result['tiny'] else ''}.", "",
             "| model | weights | form | mode | latency ms | ops | size MB | note |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['model']} | {r['weights']} | {r['form']} | {r['mode']} | "
                     f"{r['latency_ms']:.3f} | {r['num_ops']} | {r['size_bytes'] / 1e6:.2f} | "
                     f"{r['note']} |")
    lines += ["", "| model | form | mode | ops in the flatbuffer |", "|---|---|---|---|"]
    for r in result["rows"]:
        float_ops = (f" (float ops: {', '.join(r['float_ops']) or 'none'})"
                     if r["float_ops"] is not None else "")
        lines.append(f"| {r['model']} | {r['form']} | {r['mode']} | {_ops_text(r['ops'])}"
                     f"{float_ops} |")
    lines += ["", "| target | met | detail |", "|---|---|---|"]
    for t in result["targets"]:
        detail = (f"ratio {t['ratio']:.2f}" if "ratio" in t else
                  f"float ops: {', '.join(t['float_ops']) or 'none'}")
        if t.get("ops_beyond_baseline"):
            detail += "; ops beyond the baseline's: " + _ops_text(t["ops_beyond_baseline"])
        lines.append(f"| {t['target']} | {'yes' if t['met'] else 'no'} | {detail} |")
    if result.get("profile"):
        from fer_keras.benchmark.deploy_profile import format_profile_markdown

        lines += ["", format_profile_markdown(result["profile"])]
    if result.get("profile_error"):
        lines += ["", result["profile_error"]]
    return "\n".join(lines)
