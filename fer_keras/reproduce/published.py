"""The published models' tables, written from their metrics.json (never typed).

    python -m fer_keras.reproduce report ... --readme README.md --deployment docs/deployment.md

- the README's "Published models" table: each folder of `saved_models/`, its accuracy and the
  split it was measured on, its outputs in order and the temperature `Predictor` applies;
- docs/deployment.md's calibration table (each model's `calibration` record, and the float16
  package copy's own, from `fer_keras/pretrained/NAME/model_info.json`) and the package copy's
  agreement with the float32 model it was made from.

Each table sits between `<!-- published: KEY start -->` and `<!-- published: KEY end -->`
markers in its Markdown file; `rewrite_block` replaces what lies between them.
"""

import json
from pathlib import Path

from fer_keras.data.registry import BUILT_IN
from fer_keras.reproduce.runs import option_defaults, headline_rows

MODELS_DIR = Path("saved_models")
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"  # fer_keras/pretrained


def published(models_dir=MODELS_DIR):
    """[(name, metrics)] of the published models, by dataset (the registry's order), then name."""
    order = [spec.name for spec in BUILT_IN]
    found = [(folder.name, json.loads((folder / "metrics.json").read_text()))
             for folder in Path(models_dir).iterdir() if (folder / "metrics.json").is_file()]
    return sorted(found, key=lambda item: (order.index(item[1]["dataset"])
                                           if item[1]["dataset"] in order else len(order),
                                           item[1]["model"] != "i_mobilenetv2", item[0]))


def paper_figure(model, dataset):
    """(accuracy in %, the paper's protocol) the model's own paper reports on `dataset`, or
    None."""
    for table, row in headline_rows():
        if row.model == model and dataset in row.paper:
            return row.paper[dataset], table.protocols[dataset][0]
    return None


def split_words(m):
    """Which images the published accuracy was measured on, in words."""
    if m["dataset"] == "fer2013" and m["split"] == "val":
        return "PublicTest: the selection split, optimistic"
    if m["protocol"] == "loso":
        return "one unseen poser"
    if m["protocol"] == "subject_kfold":
        options = {**option_defaults(m["protocol"]), **(m["config"].get("protocol_options") or {})}
        return f"test fold {m['fold']} of {options['num_folds']}, subject-independent"
    return f"`{m['protocol']}` fold {m['fold']} {m['split']}"


def accuracy_cell(m):
    """'62.91 % (PublicTest: the selection split, optimistic; paper 68.62 %)'; the paper's figure
    names its protocol when the model was measured on another (the papers' CK+ and JAFFE splits
    leak: docs/paper_notes.md)."""
    paper = paper_figure(m["model"], m["dataset"])
    where = split_words(m)
    if paper:
        figure, protocol = paper
        where += f"; paper {figure} %" + ("" if protocol == m["protocol"]
                                          else f" on its own split, `{protocol}`")
    return f"{m['accuracy'] * 100:.2f} % ({where})"


def readme_table(models_dir=MODELS_DIR):
    """The README's table of published models."""
    lines = ["| name | accuracy (split) | outputs, in order | T |", "|---|---|---|---:|"]
    for name, m in published(models_dir):
        temperature = m.get("calibration", {}).get("temperature")
        lines.append(f"| `{name}` | {accuracy_cell(m)} | {', '.join(m['class_names'])} | "
                     + (f"{temperature:.3f} |" if temperature else "- |"))
    return "\n".join(lines)


def _fitted_on(c):
    where = f"{c['protocol']} fold {c['fold']} {c['split']}"
    return where + (" (PublicTest)" if c["dataset"] == "fer2013" and c["split"] == "val" else "")


def calibration_row(label, c):
    """One row of the calibration table from a `calibration` record (ECE in %)."""
    test = c.get("test")
    if test:
        test_cells = (f"{test['ece_before'] * 100:.2f} -> {test['ece_after'] * 100:.2f} "
                      f"({test['num_examples']}) | {test['nll_before']:.3f} -> "
                      f"{test['nll_after']:.3f}")
    else:
        test_cells = ("no test split (PrivateTest withheld)" if c["dataset"] == "fer2013"
                      else "no test split") + " | -"
    return (f"| {label} | {_fitted_on(c)} | {c['num_examples']} | {c['temperature']:.3f} | "
            f"{c['ece_before'] * 100:.2f} -> {c['ece_after'] * 100:.2f} | "
            f"{c['nll_before']:.3f} -> {c['nll_after']:.3f} | {test_cells} |")


def calibration_table(models_dir=MODELS_DIR, pretrained_dir=None):
    """docs/deployment.md's calibration table: each published model with a temperature (its name
    links its reliability diagrams), then each float16 package copy."""
    lines = ["| model | fitted on | images | T | ECE val | NLL val | ECE test (images) | "
             "NLL test |", "|---|---|---|---|---|---|---|---|"]
    for name, m in published(models_dir):
        if m.get("calibration"):
            link = f"[`{name}`](figures/calibration-{name}.png)"
            lines.append(calibration_row(link, m["calibration"]))
    for name, info in package_copies(pretrained_dir):
        if info.get("calibration"):
            lines.append(calibration_row(f"`fer_keras/pretrained/{name}` (float16)",
                                         info["calibration"]))
    return "\n".join(lines)


def package_copies(pretrained_dir=None):
    """[(name, model_info)] of the float16 copies shipped inside the package."""
    pretrained_dir = pretrained_dir or PRETRAINED_DIR
    return sorted((folder.name, json.loads((folder / "model_info.json").read_text()))
                  for folder in Path(pretrained_dir).iterdir()
                  if (folder / "model_info.json").is_file())


def package_table(pretrained_dir=None):
    """docs/deployment.md's table of each package copy against the float32 model it came from
    (`scripts/package_pretrained.py` records the figures in model_info.json)."""
    lines = ["| package copy | top-1 agreement with float32 `model.keras` | largest difference "
             "of any class probability | accuracy: float16 copy (float32) |",
             "|---|---:|---:|---:|"]
    for name, info in package_copies(pretrained_dir):
        a = info["agreement"]
        agreed = round(a["top1_agreement"] * a["images"])
        reference = a.get("reference_accuracy", info["source_accuracy"]["accuracy"])
        copy = f"{a['accuracy'] * 100:.2f} % " if "accuracy" in a else "not measured "
        lines.append(
            f"| `{name}` | {a['top1_agreement'] * 100:.2f} % ({agreed:,} of {a['images']:,} "
            f"{a['split']} images) | {a['max_probability_difference']:.4f} | "
            f"{copy}({reference * 100:.2f} %) |")
    return "\n".join(lines)


def markers(key):
    return f"<!-- published: {key} start -->", f"<!-- published: {key} end -->"


def rewrite_block(path, key, body, command):
    """Replaces the text between `key`'s markers in the Markdown file `path` with `body`."""
    return rewrite_between(path, markers(key), body, command)


def rewrite_between(path, marker_pair, body, command):
    """Replaces the text between the (start, end) markers in the Markdown file `path` with `body`
    (and a line naming the `command` that wrote it). Raises ValueError naming the file and the
    markers when they are missing."""
    path = Path(path)
    text = path.read_text()
    start_marker, end_marker = marker_pair
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no '{start_marker}' ... '{end_marker}' block to rewrite")
    block = f"{start_marker}\n<!-- generated by `{command}`: do not edit -->\n\n{body}\n\n"
    path.write_text(text[:start] + block + text[end:])
    return path


def update_readme(path, command, models_dir=MODELS_DIR):
    """Rewrites the README's published-models table."""
    return rewrite_block(path, "models", readme_table(models_dir), command)


def update_deployment(path, command, models_dir=MODELS_DIR, pretrained_dir=None):
    """Rewrites docs/deployment.md's calibration and package-copy tables."""
    rewrite_block(path, "calibration", calibration_table(models_dir, pretrained_dir), command)
    return rewrite_block(path, "package", package_table(pretrained_dir), command)


def refresh(readme="README.md", deployment="docs/deployment.md", models_dir=MODELS_DIR):
    """Rewrites every published-models table of the README and docs/deployment.md (the campaign
    calls it after publishing); returns the pages rewritten (a missing page is skipped)."""
    command = (f"python -m fer_keras.reproduce report ... --readme {readme} "
               f"--deployment {deployment}")
    done = []
    if Path(readme).is_file():
        done.append(update_readme(readme, command, models_dir))
    if Path(deployment).is_file():
        done.append(update_deployment(deployment, command, models_dir))
    return done
