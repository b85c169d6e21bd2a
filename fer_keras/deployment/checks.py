"""How an exported model is checked against the Keras model it came from."""

import time

import numpy as np

# Ops of a full-integer model that take float inputs by design (the model's edges).
NOT_QUANTISED_OK = ("QUANTIZE", "DEQUANTIZE")


def compare(reference, probs, labels=None):
    """Top-1 agreement with the reference, largest |probability difference|, accuracy."""
    out = {"agreement": float(np.mean(reference.argmax(1) == probs.argmax(1))),
           "max_abs_diff": float(np.max(np.abs(reference - probs)))}
    if labels is not None:
        out["accuracy"] = float(np.mean(probs.argmax(1) == labels))
    return out


def latency_ms(fn, x, repeats=50, warmup=5):
    """Median wall time of `fn(x)` in milliseconds."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times))


def predict_batched(fn, x, batch=64):
    """`fn` over `x` in batches, concatenated."""
    return np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])


def tflite_entry(path, fmt):
    """The report entry of a TFLite file: size, op counts, non-builtin and float ops."""
    from fer_keras.inference.tflite import list_ops, op_counts

    ops = list_ops(path)
    entry = {"file": path.name, "size_bytes": path.stat().st_size, "ops": op_counts(ops),
             "non_builtin_ops": sorted({o["op"] for o in ops if o["op"] == "CUSTOM"
                                        or o["op"].startswith("Flex")})}
    if fmt == "int8":
        entry["float_ops"] = sorted({o["op"] for o in ops if o["float_inputs"]
                                     and o["op"] not in NOT_QUANTISED_OK})
    return entry


def passed(fmt, entry, float_tolerance, min_agreement):
    """Whether a format's entry passes: float formats match, quantised ones mostly agree."""
    if fmt in ("saved_model", "float32", "onnx"):
        ok = entry["max_abs_diff"] <= float_tolerance and entry["agreement"] >= 0.99
    else:
        ok = entry["agreement"] >= min_agreement
    return bool(ok and "error" not in entry and not entry.get("non_builtin_ops"))


def log_entry(log, fmt, entry):
    """One format's line (and its ops) in the export log."""
    log(f"  {fmt:14s} agreement {entry['agreement']:.4f}  max |dp| "
        f"{entry['max_abs_diff']:.2e}  accuracy {entry['accuracy']:.4f}  latency "
        f"{entry['latency_ms']:.2f} ms  size {entry['size_bytes'] / 1e6:.2f} MB  "
        f"{'ok' if entry['passed'] else 'FAILED'}")
    if "ops" in entry:
        log("    ops: " + ", ".join(f"{k} x{v}" for k, v in entry["ops"].items()))
        for key in ("non_builtin_ops", "float_ops"):
            if entry.get(key):
                log(f"    {key.replace('_', ' ')}: {', '.join(entry[key])}")
