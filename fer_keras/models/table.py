"""The comparison table of `python -m fer_keras.models`: every registered model's parameters, size
and multiply-adds next to the figure its paper reports (also the notebooks' `plots.model_frame`)."""

from fer_keras.models.complexity import model_summary
from fer_keras.models.registry import create_model, get_entry, list_models


def model_table(names=None, input_shape=(48, 48, 3), num_classes=7):
    """One dict per model: name, paper row, params, size, MACs, paper figure, gap."""
    rows = []
    for name in names or list_models():
        entry = get_entry(name)
        summary = model_summary(create_model(name, input_shape=input_shape,
                                             num_classes=num_classes))
        rows.append({"name": name, "row": entry.row, **summary,
                     "paper_params": entry.paper_params, "gap": entry.gap})
    return rows


def format_markdown(rows):
    lines = ["| model | paper row | params | float32 size | MACs / image | paper reports | why they differ |",
             "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['row']} | {r['params'] / 1e6:.2f} M | {r['size_mb']:.2f} MB | "
            f"{r['macs'] / 1e6:.1f} M | {r['paper_params']} | {r['gap']} |"
        )
    return "\n".join(lines)
