"""Not from a paper: the zero-download demo setup and one extra keras.applications baseline.

The demo trains on 1400 synthetic 48 x 48 faces for 12 epochs (measured: 88.6 % test accuracy,
2 minutes on 2 idle CPU cores, 7 on busy ones, with the narrow I-MobileNetV2 of its family's
`demo_kwargs`); every declared family gets it for the "synthetic" dataset (`synthetic_presets`).
"""

from fer_keras.papers.schema import Paper, Preset, Variant

_SYNTHETIC = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4,
                  lr_decay_factor=0.5, lr_decay_epochs=8, epochs=12, batch_size=32,
                  augment="flip", dataset_options={"num_examples": 1400})
_SOURCE = "demo: short schedule that reaches >= 80 % test accuracy on synthetic faces"


def synthetic_presets(families):
    """{(family, "synthetic"): Preset} for each `Family`: the demo schedule, with the family's
    `demo_kwargs` as its model_kwargs when it has any (CPU-friendly widths)."""
    presets = {}
    for family in families:
        values = dict(_SYNTHETIC)
        if family.demo_kwargs:
            values["model_kwargs"] = dict(family.demo_kwargs)
        presets[(family.name, "synthetic")] = Preset(f"{family.name}/synthetic", values, _SOURCE)
    return presets


PAPER = Paper("-", variants=(
    Variant("mobilenetv3_small", "baseline", dict(application="mobilenetv3_small"), "-", "-",
            "keras.applications.MobileNetV3Small, weights=None", "not in the papers"),
))
