"""The report of `fer_keras.export.export`: one row per format, and latency and size per
format."""

import numpy as np

from fer_keras.plots.canvas import log_axis, new_figure


def export_frame(report):
    """The report of `fer_keras.export.export` as a table: one row per format."""
    import pandas as pd

    rows = {}
    for fmt, entry in report["formats"].items():
        rows[fmt] = {"file": entry["file"], "size (MB)": entry["size_bytes"] / 1e6,
                     "top-1 agreement": entry.get("agreement"),
                     "max |prob diff|": entry.get("max_abs_diff"),
                     "accuracy": entry.get("accuracy"),
                     "batch-1 latency (ms)": entry.get("latency_ms"),
                     "passed": entry.get("passed")}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "format"
    return frame


def plot_export(report):
    """Batch-1 latency (one thread) and file size of each exported format."""
    frame = export_frame(report)
    fig = new_figure(figsize=(10, 3.4))
    axes = fig.subplots(1, 2)
    x = np.arange(len(frame))
    for ax, column, colour in zip(axes, ("batch-1 latency (ms)", "size (MB)"),
                                  ("tab:purple", "tab:gray")):
        bars = ax.bar(x, frame[column].astype(float), color=colour)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_xticks(x, frame.index, rotation=20)
        ax.set_title(column)
    log_axis(axes[0])
    fig.suptitle(f"checked on {report.get('validation', '')}", fontsize=9)
    return fig
