"""What `Predictor.predict` returns, drawn: the records as a table, boxes on the photo, class
probabilities, Grad-CAM overlays and a grid of labelled face crops."""

import numpy as np

from fer_keras.plots.canvas import GRAY, new_figure, rectangle


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
    fig = new_figure(figsize=(min(14, 0.4 + photo.shape[1] / 100), 0.7 + photo.shape[0] / 100))
    ax = fig.subplots()
    ax.imshow(photo, cmap="gray", vmin=0, vmax=255)
    for rec in records:
        x, y, w, h = rec["box"]
        ax.add_patch(rectangle((x, y), w, h, colour="lime", style="-"))
        if "crop_box" in rec:
            cx, cy, cw, ch = rec["crop_box"]
            ax.add_patch(rectangle((cx, cy), cw, ch, colour="yellow", style="--"))
        ax.text(x, y - 4, f"{rec['label']} {rec['score']:.2f}", color="black", fontsize=9,
                bbox={"facecolor": "lime", "alpha": 0.8, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    ax.set_title(title or (" | ".join(sources) if sources else ""), fontsize=8)
    return fig


def plot_probabilities(records, titles=None):
    """A horizontal bar chart of the class probabilities per face, the predicted class marked."""
    fig = new_figure(figsize=(3.4 * max(1, len(records)), 2.8))
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
    (`fer_keras.inference.gradcam.overlay`); the records need `heatmap` (`predict(..., explain=True)`)."""
    import cv2

    from fer_keras.inference.gradcam import overlay
    from fer_keras.inference.faces import crop_face

    records = [r for r in records if "heatmap" in r]
    fig = new_figure(figsize=(1.6 * max(1, len(records)), 3.5))
    axes = fig.subplots(2, max(1, len(records)), squeeze=False)
    for j, rec in enumerate(records):
        crop = crop_face(photo, rec["crop_box"], (size, size))
        blended = overlay(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), rec["heatmap"])
        axes[0][j].imshow(crop, **GRAY)
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
    fig = new_figure(figsize=(1.2 * columns, 1.45 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i >= len(images):
            continue
        image = np.asarray(images[i])
        ax.imshow(image[..., 0] if image.ndim == 3 else image, **GRAY)
        title, colour = f"{records[i]['label']} {records[i]['score']:.2f}", "black"
        if labels is not None:
            truth = class_names[labels[i]]
            title, colour = f"{title}\ntrue: {truth}", ("green" if truth == records[i]["label"]
                                                        else "red")
        ax.set_title(title, fontsize=7, color=colour)
    return fig
