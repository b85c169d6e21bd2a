"""The ablation rows of I-MobileNetV2's Table 2 and Light-NTWRN's Table 5: parameters, MACs and
Keras batch-1 latency per variant, and a bar panel per column."""

import numpy as np

from fer_keras import papers
from fer_keras.plots.canvas import log_axis, new_figure, patch

# {family: its table's display name} ("I-MobileNetV2 Table 2"): each `Family.table`
# (fer_keras/papers/).
TABLE_NAMES = papers.LiveView(papers.table_names)


def ablation_models():
    """The rows of I-MobileNetV2's Table 2 and Light-NTWRN's Table 5, in table order."""
    from fer_keras.models import list_models

    return list_models("i_mobilenetv2") + list_models("light_ntwrn")


def ablation_frame(names=None, latency_repeats=5, input_shape=(48, 48, 3), num_classes=7):
    """Per variant: its table and row, the paper's figure, parameters and MACs at the paper's
    width, and the Keras batch-1 latency on this machine: the best of `latency_repeats` calls
    after two warm-up calls (timeit's convention: on a shared machine the fastest call is the
    one least slowed by other work; `python -m fer_keras.benchmark` reports medians)."""
    import timeit

    import pandas as pd

    from fer_keras.models import create_model, get_entry, model_summary

    x = np.random.default_rng(0).uniform(0, 255, (1, *input_shape)).astype(np.float32)
    rows = []
    for name in names or ablation_models():
        entry = get_entry(name)
        model = create_model(name, input_shape=input_shape, num_classes=num_classes)
        summary = model_summary(model)
        model.compile(jit_compile=False)  # XLA slows depthwise convolutions on CPU
        timeit.repeat(lambda: model.predict_on_batch(x), number=1, repeat=2)  # warm-up
        seconds = min(timeit.repeat(lambda: model.predict_on_batch(x), number=1,
                                    repeat=latency_repeats))
        rows.append({"model": name, "table": TABLE_NAMES.get(entry.family, entry.family),
                     "paper row": entry.row, "paper reports": entry.paper_params,
                     "params (M)": summary["params"] / 1e6, "MACs (M)": summary["macs"] / 1e6,
                     "Keras batch-1 ms": 1e3 * seconds})
    return pd.DataFrame(rows).set_index("model")


def plot_ablation(frame, columns=("params (M)", "MACs (M)", "Keras batch-1 ms", "accuracy")):
    """One panel per column (those present in `frame`), a bar per variant, coloured by table."""
    columns = [c for c in columns if c in frame]
    fig = new_figure(figsize=(3.6 * len(columns), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(columns)))
    tables = list(dict.fromkeys(frame["table"]))
    colours = {t: c for t, c in zip(tables, ("tab:blue", "tab:orange", "tab:green"))}
    x = np.arange(len(frame))
    for ax, column in zip(axes, columns):
        values = frame[column].astype(float).to_numpy()
        bars = ax.bar(x, np.nan_to_num(values), color=[colours[t] for t in frame["table"]])
        for bar, value in zip(bars, values):
            label = "n/a" if np.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.3g}"
            ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
        if column in ("MACs (M)", "Keras batch-1 ms"):
            log_axis(ax)
        if "accuracy" in column:
            ax.set_ylim(0, 1)
        ax.set_title(column)
        ax.set_xticks(x, frame.index, rotation=60, ha="right", fontsize=8)
    handles = [patch(colours[t]) for t in tables]
    fig.legend(handles, tables, loc="outside upper center", ncols=len(tables), fontsize=8)
    return fig
