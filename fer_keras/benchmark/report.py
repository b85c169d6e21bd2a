"""The benchmark's Markdown table, each figure beside the ceiling it is measured against."""


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def format_markdown(result):
    """The model table, each figure beside the ceiling it is measured against."""
    c = result["ceilings"]
    lines = [
        f"Ceilings: 1x1 conv {_fmt(c['conv1x1_gmacs'], '.1f')} GMAC/s, memory copy "
        f"{_fmt(c['memcpy_gbs'], '.1f')} GB/s, TFLite float32 on keras MobileNetV2 "
        f"{_fmt(c.get('tflite_gmacs'), '.2f')} GMAC/s (1 thread). Load average before/after: "
        f"{' '.join(f'{v:.2f}' for v in result['machine']['load_average_before'])} / "
        f"{' '.join(f'{v:.2f}' for v in result['machine']['load_average_after'])} on "
        f"{result['machine']['cpu_count']} CPUs; medians of {result['settings']['repeats']} "
        f"repeats{' (tiny widths)' if result['settings']['tiny'] else ''}.",
        "",
        "| model | params | float32 size | MACs / image | train img/s (batch) | train GMAC/s "
        "(of 1x1 ceiling) | infer img/s (batch) | infer of ceiling | Keras batch-1 ms "
        "| SavedModel ms | TFLite fp32 ms (predicted) | TFLite / predicted | TFLite int8 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        lines.append(
            f"| {r['name']} | {r['params'] / 1e6:.2f} M | {r['size_mb']:.2f} MB | "
            f"{r['macs'] / 1e6:.1f} M | {r['train_images_per_s']:.1f} ({r['train_batch']}) | "
            f"{r['train_gmacs']:.2f} ({r['train_fraction_of_conv1x1']:.0%}) | "
            f"{r['inference_images_per_s']:.0f} ({r['inference_batch']}) | "
            f"{r['inference_fraction_of_conv1x1']:.0%} | {r['keras_latency_ms']:.2f} | "
            f"{_fmt(r['saved_model_latency_ms'], '.2f')} | "
            f"{_fmt(r['tflite_float32_latency_ms'], '.2f')} "
            f"({_fmt(r['tflite_predicted_latency_ms'], '.2f')}) | "
            f"{_fmt(r['tflite_latency_over_predicted'], '.2f')}x | "
            f"{_fmt(r['tflite_int8_latency_ms'], '.2f')} |"
        )
    p = result["pipeline"]
    lines.append("")
    if p.get("images_per_s") is None:
        lines.append(f"Data pipeline: skipped ({p.get('skipped')}).")
    else:
        lines.append(
            f"Data pipeline (tf.data, synthetic, batch {p['batch_size']}, {p['augment']}): "
            f"{p['images_per_s']:.0f} images/s, {p['bytes_per_s'] / 1e6:.0f} MB/s of float32 "
            f"images ({p.get('fraction_of_memcpy', 0):.2%} of the memory copy bandwidth).")
    ratio = result.get("mobilenetv2_over_i_mobilenetv2_latency")
    if ratio is not None:
        lines.append(f"TFLite float32 batch-1 latency, keras MobileNetV2 / I-MobileNetV2: "
                     f"{ratio:.2f}x (the paper's Table 4: 3.85x).")
    return "\n".join(lines)
