"""Not from a paper: the zero-download demo setup and one extra keras.applications baseline.

The demo trains on 1400 synthetic 48 x 48 faces for 12 epochs (measured: 88.6 % test accuracy,
2 minutes on 2 idle CPU cores, 7 on busy ones, with the narrow I-MobileNetV2 set here); every
family gets it for the "synthetic" dataset.
"""

from fer_keras.papers.schema import Paper, Preset, Variant

_SYNTHETIC = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4,
                  lr_decay_factor=0.5, lr_decay_epochs=8, epochs=12, batch_size=32,
                  augment="flip", dataset_options={"num_examples": 1400})
_SOURCE = "demo: short schedule that reaches >= 80 % test accuracy on synthetic faces"
# The demo's I-MobileNetV2 is narrow (alpha 0.35, top stage scaled too): CPU-friendly.
_NARROW = {"i_mobilenetv2": {"model_kwargs": {"alpha": 0.35, "scale_top_stage": True}}}

PRESETS = {(family, "synthetic"): Preset(f"{family}/synthetic",
                                         dict(_SYNTHETIC, **_NARROW.get(family, {})), _SOURCE)
           for family in ("light_ntwrn", "i_mobilenetv2", "baseline")}

PAPER = Paper("-", variants=(
    Variant("mobilenetv3_small", "baseline", dict(application="mobilenetv3_small"), "-", "-",
            "keras.applications.MobileNetV3Small, weights=None", "not in the papers"),
), presets=PRESETS)
