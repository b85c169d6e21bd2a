"""Figures and tables for the notebooks in `notebooks/`.

Every figure function returns a matplotlib `Figure` built without pyplot, so it works under any
backend and shows in Jupyter as a cell's value (after `%matplotlib inline`); every table
function returns a pandas `DataFrame`. Nothing here writes files: the training runs and exports
the notebooks start write under `workdir()`.

The notebooks' other needs (finding the data, demo runs and photos, a quiet TensorFlow) live in
`fer_keras.notebook` and are re-exported here, so a notebook imports `plots` alone.
"""

import re

import numpy as np

from fer_keras import papers
from fer_keras.notebook import (  # noqa: F401 - re-exported for the notebooks
    DATA_ENV,
    DEMO_EPOCHS,
    DEMO_MODEL_KWARGS,
    FAST_ENV,
    NARROW_WRN,
    REPO_ROOT,
    WORKDIR_ENV,
    data_source,
    demo_config,
    demo_photo,
    fast_mode,
    find_data,
    held_out_faces,
    quiet_tensorflow,
    run_folder,
    short_run_kwargs,
    workdir,
)

# Face crops are shown with nearest-neighbour upscaling: sharp pixels, and small PNGs to commit.
_GRAY = {"cmap": "gray", "vmin": 0, "vmax": 255, "interpolation": "nearest"}
# {family: its table's display name} ("I-MobileNetV2 Table 2"), from fer_keras/papers/.
TABLE_NAMES = papers.LiveView(papers.table_names)


# === Models =====================================================================================
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
    fig = _figure(figsize=(12, 4.2))
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
        _log_axis(ax)
        ax.set_xticks(x, frame.index, rotation=60, ha="right", fontsize=8)
    return fig


# === Data and protocols =========================================================================
def show_samples(ds, per_class=6, indices=None, seed=0):
    """A grid of `per_class` random images of each class (rows), titled with their subject."""
    rng = np.random.default_rng(seed)
    pool = np.arange(len(ds)) if indices is None else np.asarray(indices)
    fig = _figure(figsize=(0.95 * per_class + 0.4, 1.1 * ds.num_classes))
    axes = fig.subplots(ds.num_classes, per_class, squeeze=False)
    for k, name in enumerate(ds.class_names):
        members = pool[ds.labels[pool] == k]
        chosen = rng.choice(members, min(per_class, len(members)), replace=False)
        for j, ax in enumerate(axes[k]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
            if j < len(chosen):
                ax.imshow(ds.images[chosen[j]][..., 0], **_GRAY)
                if ds.subjects is not None:
                    ax.set_title(ds.subjects[chosen[j]], fontsize=7)
        axes[k][0].set_ylabel(f"{name}\n({len(members)})", fontsize=8)
    return fig


def fold_frame(ds, splits):
    """Per fold: examples and subjects on each side, test subjects also seen in training
    (train or validation side), test images whose exact copy is in training
    (`fer_keras.data.summarize`), and the test examples per class."""
    import pandas as pd

    from fer_keras.data import split_dataset, summarize

    rows = []
    for split, summary in zip(splits, summarize(ds, splits)["folds"]):
        data = split_dataset(split, ds)
        row = {"fold": split.fold, "train": summary["train"], "val": summary["val"],
               "test": summary["test"]}
        seen = None
        if data.subjects is not None:
            for side in ("train", "test"):
                row[f"{side} subjects"] = len(set(data.subjects[getattr(split, side)]))
            test = set(data.subjects[split.test])
            seen = len(test & set(data.subjects[np.concatenate([split.train, split.val])]))
        row["test subjects seen in training"] = seen
        row["test images duplicated in train"] = summary["duplicate_overlap"]
        row.update({f"test {k}": v for k, v in data.class_counts(split.test).items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("fold")


def plot_folds(frame, title=""):
    """Stacked train / validation / test sizes per row of `fold_frame` (a fold, or any label),
    with the number of test subjects seen in training written beside."""
    fig = _figure(figsize=(8, 0.35 * len(frame) + 1.4))
    ax = fig.subplots()
    left = np.zeros(len(frame))
    y = np.arange(len(frame))
    for side, colour in (("train", "tab:blue"), ("val", "tab:orange"), ("test", "tab:green")):
        ax.barh(y, frame[side], left=left, color=colour, label=side)
        left = left + frame[side].to_numpy()
    for yi, total, seen in zip(y, left, frame["test subjects seen in training"]):
        if seen is not None and not np.isnan(seen):
            ax.text(total, yi, f"  {int(seen)} test subjects seen in training", va="center",
                    fontsize=8)
    ax.set_yticks(y, [f"fold {f}" if isinstance(f, (int, np.integer)) else str(f)
                      for f in frame.index])
    ax.invert_yaxis()
    ax.set_xlabel("images")
    ax.set_xlim(0, left.max() * 1.45)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    ax.set_title(title)
    return fig


# === Ablations ==================================================================================
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
    fig = _figure(figsize=(3.6 * len(columns), 4.2))
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
            _log_axis(ax)
        if "accuracy" in column:
            ax.set_ylim(0, 1)
        ax.set_title(column)
        ax.set_xticks(x, frame.index, rotation=60, ha="right", fontsize=8)
    handles = [_patch(colours[t]) for t in tables]
    fig.legend(handles, tables, loc="outside upper center", ncols=len(tables), fontsize=8)
    return fig


# === Inference ==================================================================================
def records_frame(records):
    """One row per face record of `Predictor.predict`: box, label, score and each probability."""
    import pandas as pd

    rows = []
    for i, rec in enumerate(records):
        row = {"face": i, "label": rec["label"], "score": rec["score"]}
        if "box" in rec:
            row["box (x, y, w, h)"] = tuple(rec["box"])
        row.update(rec["probabilities"])
        rows.append(row)
    return pd.DataFrame(rows).set_index("face") if rows else pd.DataFrame()


def show_faces(photo, records, sources=None, title=""):
    """The photo with each detected box (solid), the crop fed to the model (dashed) and the
    predicted label and probability."""
    fig = _figure(figsize=(min(14, 0.4 + photo.shape[1] / 100), 0.7 + photo.shape[0] / 100))
    ax = fig.subplots()
    ax.imshow(photo, cmap="gray", vmin=0, vmax=255)
    for rec in records:
        x, y, w, h = rec["box"]
        ax.add_patch(_rectangle((x, y), w, h, colour="lime", style="-"))
        if "crop_box" in rec:
            cx, cy, cw, ch = rec["crop_box"]
            ax.add_patch(_rectangle((cx, cy), cw, ch, colour="yellow", style="--"))
        ax.text(x, y - 4, f"{rec['label']} {rec['score']:.2f}", color="black", fontsize=9,
                bbox={"facecolor": "lime", "alpha": 0.8, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    ax.set_title(title or (" | ".join(sources) if sources else ""), fontsize=8)
    return fig


def plot_probabilities(records, titles=None):
    """A horizontal bar chart of the class probabilities per face, the predicted class marked."""
    fig = _figure(figsize=(3.4 * max(1, len(records)), 2.8))
    axes = np.atleast_1d(fig.subplots(1, max(1, len(records))))
    for i, (ax, rec) in enumerate(zip(axes, records)):
        names = list(rec["probabilities"])
        probs = np.array([rec["probabilities"][n] for n in names])
        colours = ["tab:red" if n == rec["label"] else "tab:blue" for n in names]
        ax.barh(np.arange(len(names)), probs, color=colours)
        ax.set_yticks(np.arange(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("probability")
        ax.set_title(titles[i] if titles else f"face {i}: {rec['label']}", fontsize=9)
    return fig


def show_gradcam(photo, records, size=96):
    """Each face's crop (as fed to the model) beside its Grad-CAM heatmap overlaid
    (`fer_keras.explain.overlay`); the records need `heatmap` (`predict(..., explain=True)`)."""
    import cv2

    from fer_keras.explain import overlay
    from fer_keras.inference.faces import crop_face

    records = [r for r in records if "heatmap" in r]
    fig = _figure(figsize=(1.6 * max(1, len(records)), 3.5))
    axes = fig.subplots(2, max(1, len(records)), squeeze=False)
    for j, rec in enumerate(records):
        crop = crop_face(photo, rec["crop_box"], (size, size))
        blended = overlay(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), rec["heatmap"])
        axes[0][j].imshow(crop, **_GRAY)
        axes[0][j].set_title(f"face {j}: {rec['label']}", fontsize=9)
        axes[1][j].imshow(cv2.cvtColor(blended, cv2.COLOR_BGR2RGB), interpolation="nearest")
        axes[1][j].set_title("Grad-CAM", fontsize=9)
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig


def show_predictions(images, records, labels=None, class_names=None, columns=8):
    """Face crops titled with the predicted class and probability (and the true class, green
    when right, red when wrong)."""
    rows = -(-len(images) // columns)
    fig = _figure(figsize=(1.2 * columns, 1.45 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i >= len(images):
            continue
        image = np.asarray(images[i])
        ax.imshow(image[..., 0] if image.ndim == 3 else image, **_GRAY)
        title, colour = f"{records[i]['label']} {records[i]['score']:.2f}", "black"
        if labels is not None:
            truth = class_names[labels[i]]
            title, colour = f"{title}\ntrue: {truth}", ("green" if truth == records[i]["label"]
                                                        else "red")
        ax.set_title(title, fontsize=7, color=colour)
    return fig


# === Export =====================================================================================
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
    fig = _figure(figsize=(10, 3.4))
    axes = fig.subplots(1, 2)
    x = np.arange(len(frame))
    for ax, column, colour in zip(axes, ("batch-1 latency (ms)", "size (MB)"),
                                  ("tab:purple", "tab:gray")):
        bars = ax.bar(x, frame[column].astype(float), color=colour)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_xticks(x, frame.index, rotation=20)
        ax.set_title(column)
    _log_axis(axes[0])
    fig.suptitle(f"checked on {report.get('validation', '')}", fontsize=9)
    return fig


# === Helpers ====================================================================================
def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _log_axis(ax):
    """A log-scale y axis labelled with plain numbers (1, 10, 100, not 10^2)."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _rectangle(xy, w, h, colour, style):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, fill=False, edgecolor=colour, linestyle=style, linewidth=1.5)


def _patch(colour):
    from matplotlib.patches import Patch

    return Patch(color=colour)
