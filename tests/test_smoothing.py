"""`predict --smooth N`: faces tracked over video frames, probabilities averaged per track
(`fer_keras.inference.smoothing`)."""

import io
import json

import numpy as np
import pytest

from fer_keras.inference.smoothing import FaceTracker, iou

NAMES = ("a", "b", "c")


def _record(box, probs):
    probs = np.asarray(probs, float)
    k = int(np.argmax(probs))
    return {"box": list(box), "label": NAMES[k], "score": float(probs[k]),
            "probabilities": dict(zip(NAMES, map(float, probs)))}


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_two_moving_faces_keep_their_tracks_and_their_labels_stop_flickering():
    tracker = FaceTracker(window=5)
    flicker = [(0.45, 0.55, 0.0), (0.6, 0.4, 0.0)]  # face 1: "b", "a", "b", "a", ...
    raw, smooth = [], []
    for t in range(12):
        left = _record((10 + t, 10, 50, 50), flicker[t % 2])
        right = _record((200 - t, 30, 60, 60), (0.1, 0.1, 0.8))
        out = tracker.update([right, left] if t % 3 else [left, right])  # order changes
        by_track = {r["track"]: r for r in out}
        assert set(by_track) == {0, 1}
        assert by_track[0]["raw_label"] == left["label"] and by_track[1]["label"] == "c"
        raw.append(by_track[0]["raw_label"])
        smooth.append(by_track[0]["label"])
        assert by_track[0]["smoothed_over"] == min(t + 1, 5)
        assert sum(by_track[0]["probabilities"].values()) == pytest.approx(1.0)
    assert sum(a != b for a, b in zip(raw, raw[1:])) == 11
    assert sum(a != b for a, b in zip(smooth[4:], smooth[5:])) == 0  # mean over 5: "a"
    window = [flicker[t % 2] for t in range(7, 12)]
    assert by_track[0]["probabilities"]["a"] == pytest.approx(np.mean(window, axis=0)[0])


def test_a_face_that_leaves_for_too_long_comes_back_as_a_new_track():
    tracker = FaceTracker(window=3, max_missed=2)
    face = _record((10, 10, 40, 40), (1, 0, 0))
    assert tracker.update([face])[0]["track"] == 0
    tracker.update([])
    tracker.update([])
    assert tracker.update([face])[0]["track"] == 0  # missed 2 frames: still followed
    for _ in range(3):
        tracker.update([])
    back = tracker.update([face])[0]
    assert back["track"] == 1 and back["smoothed_over"] == 1


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_the_window_must_be_a_positive_whole_number(bad):
    with pytest.raises(ValueError, match=f"got {bad}"):
        FaceTracker(window=bad)


def test_smooth_must_be_positive_on_the_command_line():
    from fer_keras import predict

    err = io.StringIO()
    assert predict.main(["x.mp4", "--model", "m", "--smooth", "0"], io.StringIO(), err) == 2
    assert "--smooth must be >= 1, got 0" in err.getvalue()


def _ckplus_video(data, path, frames=24):
    """A video of one CK+ sequence (its three frames, then held on the last), each frame the
    48 x 48 face on a 320 x 320 textured canvas, moved by a pixel or two and noised."""
    import cv2

    from fer_keras.inference.detector_eval import _texture

    files = sorted((data / "ckplus" / "CK+48" / "surprise").glob("S010_*"))[:3]
    assert len(files) == 3, files
    faces = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
    rng = np.random.default_rng(0)
    background = _texture(rng, (320, 320))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 320))
    for t in range(frames):
        face = cv2.resize(faces[min(t // 4, 2)], (150, 150), interpolation=cv2.INTER_LINEAR)
        frame = background.copy()
        x, y = 85 + int(rng.integers(-2, 3)), 85 + int(rng.integers(-2, 3))
        frame[y:y + 150, x:x + 150] = face
        frame = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


@pytest.mark.tf
def test_a_ckplus_sequence_video_is_tracked_and_smoothed(shared_data, tmp_path):
    """The published CK+ model on a video made from a real CK+ sequence: one track, the mean
    over the window, and no more label changes than the frame-by-frame labels."""
    from pathlib import Path

    from fer_keras import predict

    model = Path(__file__).resolve().parents[1] / "saved_models" / "i_mobilenetv2_ckplus"
    if not model.is_dir():
        pytest.skip(f"published model not found at {model}")
    video = _ckplus_video(shared_data, tmp_path / "S010.avi")
    out, err = io.StringIO(), io.StringIO()
    code = predict.main([str(video), "--model", str(model), "--smooth", "5"], out, err)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0, err.getvalue()
    assert len(rows) >= 20, err.getvalue()  # Haar finds the face in (nearly) every frame
    assert {r["track"] for r in rows} == {0}
    assert [r["smoothed_over"] for r in rows[:6]] == [1, 2, 3, 4, 5, 5]
    names = list(rows[0]["probabilities"])
    for k in range(4, len(rows)):
        window = [[rows[j]["raw_probabilities"][n] for n in names] for j in range(k - 4, k + 1)]
        if all(rows[j]["frame"] == rows[k]["frame"] - (k - j) for j in range(k - 4, k + 1)):
            assert [rows[k]["probabilities"][n] for n in names] == pytest.approx(
                np.mean(window, axis=0), abs=1e-6)

    def changes(key):
        return sum(a[key] != b[key] for a, b in zip(rows, rows[1:]))

    assert changes("label") <= changes("raw_label")
    print(f"{len(rows)} frames with the face; label changes: raw {changes('raw_label')}, "
          f"smoothed {changes('label')}")
