"""Training under KERAS_BACKEND=jax, where TensorFlow may be absent: the data come from
`iterate_batches`, model.keras is written, and the SavedModel step explains itself."""

import importlib.util
import json

from backends import require_backend

keras = require_backend("jax")


def test_short_training_run_on_jax(tmp_path):
    from fer_keras.training import resolve_config, train

    config = resolve_config(
        "synthetic", "i_mobilenetv2", output=str(tmp_path), epochs=2, augment="flip",
        dataset_options=dict(num_examples=140, image_size=32),
        model_kwargs=dict(alpha=0.35, scale_top_stage=True))
    result = train(config, verbose=0)
    fold = tmp_path / "fold_0"
    metrics = json.loads((fold / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 2 and 0 <= metrics["accuracy"] <= 1
    assert result.folds[0]["accuracy"] == metrics["accuracy"]
    assert (fold / "model.keras").exists() and (fold / "curves.png").exists()
    model = keras.saving.load_model(fold / "model.keras")
    assert model.output_shape == (None, 7)
    if importlib.util.find_spec("tensorflow") is None:
        assert metrics["saved_model"] is None
        assert any("needs TensorFlow" in note for note in metrics["notes"])
