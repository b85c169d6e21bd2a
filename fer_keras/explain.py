"""Grad-CAM heatmaps: `grad_cam`, `overlay` and `find_target_layer` (they live in
`fer_keras.inference.gradcam`, beside the predictor that draws them), and the command

    python -m fer_keras.explain photo.jpg --model i_mobilenetv2_fer2013 --output heatmaps/

(fer_keras/explain_cli.py).
"""

from fer_keras.inference.gradcam import find_target_layer, grad_cam, overlay

__all__ = ["find_target_layer", "grad_cam", "overlay"]

if __name__ == "__main__":
    from fer_keras.explain_cli import main

    raise SystemExit(main())
