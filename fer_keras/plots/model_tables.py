"""The models as tables and figures: a shortened `model.summary()`, one row per block (like the
papers' Table 1), and parameters and multiply-adds beside the figures the papers print."""

import re

import numpy as np

from fer_keras.plots.canvas import log_axis, new_figure


def summary_text(model, head=24, tail=8, line_length=None):
    """`model.summary()` as text with the middle left out (first `head`, last `tail` lines)."""
    lines = []
    model.summary(line_length=line_length, print_fn=lambda line, **_: lines.extend(
        line.splitlines()))
    if len(lines) <= head + tail + 1:
        return "\n".join(lines)
    skipped = len(lines) - head - tail
    return "\n".join(lines[:head] + [f"... {skipped} lines left out (model.summary() prints "
                                     "them) ..."] + lines[-tail:])


def _block_of(layer_name):
    match = re.match(r"(stage\d+_block\d+|stem)", layer_name)
    return match.group(1) if match else layer_name


def block_table(model):
    """One row per block (`stageN_blockM`, the stem, each head layer): layers, output shape,
    parameters and multiply-adds per image, in model order, like the papers' Table 1."""
    import keras
    import pandas as pd

    from fer_keras.models.complexity import layer_macs

    rows = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input[0] if isinstance(layer.input, (list, tuple)) else layer.input
        row = rows.setdefault(_block_of(layer.name), {"layers": 0, "params": 0, "macs": 0})
        row["layers"] += 1
        row["params"] += layer.count_params()
        row["macs"] += layer_macs(layer, tuple(inputs.shape), tuple(layer.output.shape))
        row["output shape"] = "x".join(str(d) for d in layer.output.shape[1:])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "block"
    return frame[["layers", "output shape", "params", "macs"]]


def model_frame(names=None, input_shape=(48, 48, 3), num_classes=7):
    """The table of `python -m fer_keras.models` (parameters, size and MACs beside the figure
    the paper reports, and why they differ) as a DataFrame indexed by model name."""
    import pandas as pd

    from fer_keras.models.table import model_table

    frame = pd.DataFrame(model_table(names, input_shape, num_classes)).set_index("name")
    frame["params (M)"] = frame["params"] / 1e6
    frame["MACs (M)"] = frame["macs"] / 1e6
    frame = frame.rename(columns={"row": "paper row", "size_mb": "float32 MB",
                                  "paper_params": "paper reports", "gap": "why they differ"})
    return frame[["paper row", "params (M)", "float32 MB", "MACs (M)", "paper reports",
                  "why they differ"]]


def paper_figure(text):
    """(value, unit) of a paper figure such as "18.35 M" or "3.26 MB (text: 3.26 M)"; None
    when the paper gives none ("-")."""
    match = re.match(r"\s*([\d.]+)\s*(MB|M)\b", str(text))
    return (float(match.group(1)), match.group(2)) if match else None


def plot_model_table(frame):
    """Parameters (ours, with the paper's figure as printed, M or MB) and MACs per model."""
    fig = new_figure(figsize=(12, 4.2))
    ax_params, ax_macs = fig.subplots(1, 2)
    x = np.arange(len(frame))
    ax_params.bar(x, frame["params (M)"], color="tab:blue", label="ours (M parameters)")
    for unit, marker, colour in (("M", "o", "black"), ("MB", "D", "tab:red")):
        points = [(i, fig_[0]) for i, fig_ in enumerate(map(paper_figure, frame["paper reports"]))
                  if fig_ and fig_[1] == unit]
        if points:
            ax_params.scatter(*zip(*points), marker=marker, color=colour, zorder=3,
                              label=f"paper ({unit}{', unit unclear' if unit == 'MB' else ''})")
    ax_params.set_ylabel("millions (log scale)")
    ax_params.set_title("parameters")
    fig.legend(*ax_params.get_legend_handles_labels(), loc="outside upper center", ncols=3,
               fontsize=8)
    ax_macs.bar(x, frame["MACs (M)"], color="tab:green")
    ax_macs.set_ylabel("millions per 48 x 48 image (log scale)")
    ax_macs.set_title("multiply-adds")
    for ax in (ax_params, ax_macs):
        log_axis(ax)
        ax.set_xticks(x, frame.index, rotation=60, ha="right", fontsize=8)
    return fig
