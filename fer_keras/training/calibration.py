"""Probabilities that mean what they say, and an answer that can abstain.

Temperature scaling (Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
Networks", ICML 2017, Section 4.2): one scalar T > 0 divides the logits, `softmax(z / T)`, T
chosen to minimise the negative log-likelihood on the validation split. The argmax, hence the
accuracy, does not change; the confidence does. The models here output softmax probabilities,
so the logits are recovered as `log p`, which equals z up to a constant per example, and a
softmax ignores that constant.

Expected calibration error (Guo et al., Eq. 3; Naeini et al. 2015): the examples put into 15
equal-width bins of their top probability, (0, 1/15], (1/15, 2/15], ..., and
ECE = sum over bins of (bin size / N) * |accuracy of the bin - mean confidence of the bin|.

`calibrate` fits T and measures ECE and NLL before and after; `reliability_diagram` draws both
(the training loop writes `reliability.png` in each fold folder, docs/deployment.md
"Calibration and abstention"). `abstain` turns a prediction whose top probability is below a
threshold into `uncertain`, keeping the model's own answer as `raw_label`.

Pure numpy and scipy; importing this module imports neither Keras nor TensorFlow.
"""

import numpy as np

BINS = 15
UNCERTAIN = "uncertain"
# The search interval of T (searched on log T): wide enough for any model trained here (the
# published ones fit 0.9 to 2.5), narrow enough to keep a degenerate split from running away.
T_BOUNDS = (0.05, 20.0)
_TINY = np.finfo(np.float32).tiny  # float32 softmax outputs can underflow to 0: log(0) = -inf


def logits_of(probs):
    """`log p` (float64): the logits up to a per-example constant, which a softmax ignores."""
    return np.log(np.clip(np.asarray(probs, np.float64), _TINY, 1.0))


def apply_temperature(probs, temperature):
    """`softmax(log p / T)`, row-wise, for probabilities N x K (or one row K)."""
    if not temperature > 0:  # also NaN
        raise ValueError(f"the temperature must be positive, got {temperature!r}")
    z = logits_of(probs) / float(temperature)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def negative_log_likelihood(labels, probs, temperature=1.0):
    """Mean `-log softmax(log p / T)[label]`, computed stably in log space."""
    labels = np.asarray(labels, np.int64)
    z = logits_of(probs) / float(temperature)
    m = z.max(axis=-1, keepdims=True)
    log_norm = (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[:, 0]
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(labels, probs, bounds=T_BOUNDS):
    """The T minimising `negative_log_likelihood(labels, probs, T)`: a bounded 1-D search
    (scipy's Brent-bounded `minimize_scalar`) on log T within `bounds`.

    Raises:
        ValueError: no examples, or labels and probabilities of different lengths.
    """
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, np.int64)
    probs = np.asarray(probs)
    if len(labels) == 0 or len(labels) != len(probs):
        raise ValueError(f"need as many labels as rows of probabilities, at least one; got "
                         f"{len(labels)} labels and {len(probs)} rows")
    result = minimize_scalar(lambda s: negative_log_likelihood(labels, probs, np.exp(s)),
                             bounds=tuple(np.log(bounds)), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))


def reliability(labels, probs, bins=BINS):
    """Per equal-width bin of the top probability: {"count", "accuracy", "confidence"} arrays
    (empty bins: count 0, accuracy and confidence NaN)."""
    probs = np.asarray(probs, np.float64)
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == np.asarray(labels)
    # bin b holds (b / bins, (b + 1) / bins]; a confidence of exactly 0 goes to the first
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
        mean_conf = np.bincount(index, weights=confidence, minlength=bins) / count
    return {"count": count, "accuracy": accuracy, "confidence": mean_conf}


def expected_calibration_error(labels, probs, bins=BINS):
    """ECE with `bins` equal-width bins (see the module docstring), in [0, 1]."""
    r = reliability(labels, probs, bins)
    used = r["count"] > 0
    gaps = np.abs(r["accuracy"][used] - r["confidence"][used])
    return float(np.sum(r["count"][used] * gaps) / np.sum(r["count"]))


def scored(labels, probs, temperature):
    """ECE and NLL of (labels, probs) before and after `temperature`: on the split it was
    fitted on, or, with the validation split's T, on the test split (out of sample)."""
    return {"num_examples": int(len(labels)),
            "ece_before": expected_calibration_error(labels, probs),
            "ece_after": expected_calibration_error(labels,
                                                    apply_temperature(probs, temperature)),
            "nll_before": negative_log_likelihood(labels, probs),
            "nll_after": negative_log_likelihood(labels, probs, temperature)}


def calibrate(labels, probs, split="val"):
    """T fitted on (labels, probs) and what it does there: the `calibration` entry of
    metrics.json (and of a published model's metrics.json / model_info.json)."""
    temperature = fit_temperature(labels, probs)
    return {"method": "temperature scaling (Guo et al. 2017), fitted on log T by bounded search",
            "temperature": temperature, "split": split, "bins": BINS,
            **scored(labels, probs, temperature)}


def temperature_of(info):
    """The fitted temperature in a metrics.json / model_info.json dict, or None."""
    value = (info or {}).get("calibration", {}) or {}
    return float(value["temperature"]) if value.get("temperature") else None


def reliability_diagram(labels, probs, temperature, path, title=""):
    """Writes two reliability diagrams side by side, before and after `temperature`: per bin,
    the accuracy (bars) against the diagonal of perfect calibration, the gap shaded, the share
    of examples in each bin below, and the ECE in each panel's title."""
    from fer_keras.training.metrics import agg_pyplot, save_figure

    plt = agg_pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 5.4), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]})
    edges = np.linspace(0, 1, BINS + 1)
    width = 1.0 / BINS
    panels = (("before (the model's softmax)", probs),
              (f"after temperature scaling, T = {temperature:.3f}",
               apply_temperature(probs, temperature)))
    for column, (name, p) in enumerate(panels):
        r = reliability(labels, p)
        used = r["count"] > 0
        top, bottom = axes[0, column], axes[1, column]
        top.bar(edges[:-1][used], r["accuracy"][used], width, align="edge",
                edgecolor="black", color="tab:blue", label="accuracy")
        top.bar(edges[:-1][used], (r["confidence"] - r["accuracy"])[used], width,
                bottom=r["accuracy"][used], align="edge", color="tab:red", alpha=0.3,
                edgecolor="tab:red", label="gap to the mean confidence")
        top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy",
                title=f"{name}\nECE {expected_calibration_error(labels, p) * 100:.2f} %")
        top.legend(loc="upper left", fontsize=7, framealpha=0.9)
        bottom.bar(edges[:-1], r["count"] / r["count"].sum(), width, align="edge",
                   color="grey", edgecolor="black")
        bottom.set(xlim=(0, 1), xlabel="confidence (top probability)", ylabel="share")
    counted = f"{len(labels)} examples, {BINS} bins"
    fig.suptitle(f"{title}: {counted}" if title else counted)
    fig.tight_layout()
    save_figure(fig, path)


def abstain(record, min_confidence):
    """The record with `label` "uncertain" where its `score` is below `min_confidence`.

    A score exactly at the threshold is confident: only `score < min_confidence` abstains. The
    record keeps the model's answer as `raw_label` (added when absent, so a smoothed record's
    frame label stays) and gains `uncertain` (True / False). `min_confidence` None returns the
    record unchanged.
    """
    if min_confidence is None:
        return record
    uncertain = record["score"] < min_confidence
    out = {**record, "uncertain": bool(uncertain)}
    out.setdefault("raw_label", record["label"])
    if uncertain:
        out["label"] = UNCERTAIN
    return out


def check_min_confidence(value):
    """`value` as a float in [0, 1], or ValueError naming it (None passes through)."""
    if value is None:
        return None
    if not 0.0 <= float(value) <= 1.0:  # also NaN
        raise ValueError(f"min_confidence must be a probability in [0, 1], got {value!r}")
    return float(value)


__all__ = ["BINS", "UNCERTAIN", "abstain", "apply_temperature", "calibrate",
           "check_min_confidence", "expected_calibration_error", "fit_temperature",
           "logits_of", "negative_log_likelihood", "reliability", "reliability_diagram",
           "scored", "temperature_of"]
