"""Every named variant, discoverable with :func:`list_models` and built by :func:`create_model`.

Each entry names the paper table row it reproduces and the parameter figure that row reports, so
the comparison table (``python -m fer_keras.models``) and the tests iterate over one list.
"""

import dataclasses
import functools

from fer_keras.models.baselines import keras_application
from fer_keras.models.i_mobilenetv2 import i_mobilenetv2
from fer_keras.models.light_ntwrn import light_ntwrn

IMNV2 = "I-MobileNetV2 (Sci. Rep. 2024)"
LNTWRN = "Light-NTWRN (2022)"


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered variant: its builder, fixed arguments and the paper's figures for it."""

    name: str
    builder: callable
    kwargs: dict
    paper: str
    row: str
    paper_params: str
    description: str
    family: str
    gap: str = ""

    def build(self, **overrides):
        kwargs = {**self.kwargs, **overrides}
        kwargs.setdefault("name", self.name)
        return self.builder(**kwargs)


_REGISTRY = {}


def register_model(name, builder, kwargs, paper, row, paper_params, description, family,
                   gap=""):
    """Adds a variant; ``gap`` says why its size differs from the paper's figure."""
    if name in _REGISTRY:
        raise ValueError(f"Model {name!r} is already registered.")
    _REGISTRY[name] = ModelEntry(name, builder, dict(kwargs), paper, row, paper_params,
                                 description, family, gap)


def list_models(family=None):
    """Names of the registered models, in registration order (``family``: a builder's name)."""
    return [n for n, e in _REGISTRY.items() if family is None or e.family == family]


def get_entry(name):
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}; registered models: {list_models()}.")
    return _REGISTRY[name]


def create_model(name, weights=None, **kwargs):
    """Builds the registered model ``name``; keyword arguments override its defaults.

    ``weights``: None, a published model's dataset or name, or a ``.keras`` / ``.weights.h5``
    path (:mod:`fer_keras.pretrained`). Example:
    ``create_model("i_mobilenetv2", input_shape=(48, 48, 1), num_classes=7)``.
    """
    return get_entry(name).build(weights=weights, **kwargs)


_mnv2_base = dict(activation="relu6", reverse_fusion=False, squeeze_excite=False,
                  scale_top_stage=True, head_channels=1280)
_table2 = functools.partial(register_model, builder=i_mobilenetv2, paper=IMNV2,
                            family="i_mobilenetv2")
_table2(name="mobilenetv2", kwargs=dict(_mnv2_base, alpha=1.0), row="Table 2: Mobilenetv2",
        paper_params="20.10 MB",
        description="MobileNetV2 on Table 1's layout, alpha 1.0, ReLU6, 1280-channel head",
        gap="20.10 MB fits no MobileNetV2 for 7 classes (torchvision's 1000-class one is 14 MB)")
_table2(name="mobilenetv2_075", kwargs=dict(_mnv2_base, alpha=0.75),
        row="Table 2: Mobilenetv2(0.75)", paper_params="3.33 MB",
        description="as mobilenetv2 with width multiplier 0.75",
        gap="3.33 MB (0.83 M) is 1/6 of row 1; alpha 0.75 alone scales by about 0.56")
_table2(name="mobilenetv2_075_se", kwargs=dict(_mnv2_base, alpha=0.75, squeeze_excite=True),
        row="Table 2: Mobilenetv2(0.75) + SE", paper_params="3.45 MB",
        description="mobilenetv2_075 with SE in Table 1's marked stages",
        gap="SE (ratio 4) on the expanded channels of stages 2 and 6 adds 0.36 M; paper +0.12 MB")
_table2(name="mobilenetv2_075_rf", kwargs=dict(_mnv2_base, alpha=0.75, reverse_fusion=True),
        row="Table 2: Mobilenetv2(0.75) + RFF", paper_params="3.33 MB",
        description="mobilenetv2_075 with reverse fusion in Table 1's marked stages",
        gap="matches the paper's 'no change': difference fusion has no weights")
_table2(name="i_mobilenetv2", kwargs=dict(alpha=0.75), row="Table 2: Ours",
        paper_params="3.26 MB (text: 3.26 M)",
        description="alpha 0.75, SELU, reverse fusion + SE as Table 1 marks, top stage 320, no head",
        gap="unscaled 320-channel top stage (3 blocks) holds 3.0 M; paper below its own +SE row")

_table5 = functools.partial(register_model, builder=light_ntwrn, paper=LNTWRN,
                            family="light_ntwrn")
_table5(name="wrn", kwargs=dict(block_types=("basic",) * 3, attention=False),
        row="Table 5: WRN (and WRN+RE)", paper_params="18.35 M",
        description="wide residual network, widths 96/192/384, depths 5/8/5, basic blocks",
        gap="within 1.6 %: depths 5/8/5 of WRN basic blocks, widths 96/192/384")
_table5(name="wrn_scam", kwargs=dict(block_types=("basic",) * 3, attention=True),
        row="Table 5: WRN+RE+SCAM", paper_params="23.21 M",
        description="wrn with SCAM closing every block",
        gap="SCAM adds 0.14 M; +4.86 M is impossible for a CBAM-style module at these widths")
_table5(name="wrn_scam_gbn", kwargs=dict(block_types=("basic", "gbn", "basic"), attention=True),
        row="Table 5: WRN+RE+SCAM+GBN", paper_params="15.72 M",
        description="wrn_scam with grouping bottlenecks in stage 2",
        gap="bottlenecks at Table 1's 192 inner channels; 0.5 ratio gives fewer")
_table5(name="light_ntwrn", kwargs={}, row="Table 5: Light-NTWRN (ours)",
        paper_params="10.14 M",
        description="wrn_scam_gbn with depthwise separable shuffle blocks in stages 1 and 3",
        gap="DS blocks are cheap (grouped pointwise, 4 groups); even full pointwise gives 3.2 M")

_baseline = functools.partial(register_model, builder=keras_application, family="baseline")
_baseline(name="vgg16", kwargs=dict(application="vgg16"), paper=LNTWRN, row="Table 6: VGG16",
          paper_params="14.75 M", description="keras.applications.VGG16, weights=None",
        gap="same network (convolutional base 14.71 M)")
_baseline(name="vgg19", kwargs=dict(application="vgg19"), paper=LNTWRN, row="Table 6: VGG19",
          paper_params="20.06 M", description="keras.applications.VGG19, weights=None",
        gap="same network")
_baseline(name="resnet50", kwargs=dict(application="resnet50"), paper=LNTWRN,
          row="Table 6: ResNet50 (I-MNV2 Table 3: 72.31 MB)", paper_params="25.56 M",
          description="keras.applications.ResNet50, weights=None",
        gap="7-class head instead of ImageNet's 1000-class one (2.05 M)")
_baseline(name="keras_mobilenetv2", kwargs=dict(application="keras_mobilenetv2"), paper=IMNV2,
          row="Table 3: Mobilenetv2", paper_params="20.10 MB",
          description="keras.applications.MobileNetV2 (alpha 1.0), weights=None",
        gap="7-class head; 20.10 MB fits no MobileNetV2")
_baseline(name="mobilenetv3_large", kwargs=dict(application="mobilenetv3_large"), paper=IMNV2,
          row="Table 3: Mobilenetv3", paper_params="21.50 MB",
          description="keras.applications.MobileNetV3Large, weights=None",
        gap="paper's 21.50 MB matches the 1000-class model (5.5 M)")
_baseline(name="mobilenetv3_small", kwargs=dict(application="mobilenetv3_small"), paper="-",
          row="-", paper_params="-",
          description="keras.applications.MobileNetV3Small, weights=None",
        gap="not in the papers")
