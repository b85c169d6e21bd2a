"""Predictions smoothed over video frames, per tracked face (`predict --smooth N`).

A frame-by-frame classifier flickers: on a face that holds one expression, the label of a
48 x 48 crop can change from one frame to the next with the detector's box jitter and the
camera's noise. `FaceTracker` follows each face from frame to frame and reports, for every face
of every frame, the mean of its class probabilities over its last `window` frames.

Tracking is greedy intersection-over-union matching of the detected boxes with the tracks of
the previous frames (the largest overlap first, at least `min_iou`); a face that matches no
track starts a new one, and a track that matches no face for more than `max_missed` frames ends.
This is the simplest tracker that serves the purpose (a few faces that move little between
frames: webcams, interviews, lab recordings such as CK+); fast crossing faces can swap tracks.

Each record keeps its frame's own figures as `raw_label` (its top class, also where the frame
alone was "uncertain"), `raw_score` and `raw_probabilities`; `label`, `score` and
`probabilities` become the smoothed ones, and `track` (an integer, stable while the face is
followed) and `smoothed_over` (how many frames the mean covers, at most `window`) are added.
"""

import collections

import numpy as np


def iou(a, b):
    """Intersection over union of two boxes (x, y, w, h)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    inter = max(w, 0) * max(h, 0)
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class _Track:
    def __init__(self, track_id, box, window):
        self.id, self.box, self.missed = track_id, box, 0
        self.history = collections.deque(maxlen=window)


class FaceTracker:
    """Follows faces over the frames of one video and smooths their probabilities.

    Args:
        window: frames the mean covers (1: no smoothing, records only gain `track`).
        min_iou: the least overlap of a face with a track's last box to continue it.
        max_missed: frames a track may go without a face before it ends.

    Call `update(records)` once per processed frame, in order, with `Predictor.predict`'s
    records of that frame; it returns them smoothed (see the module docstring).
    """

    def __init__(self, window=5, min_iou=0.3, max_missed=5):
        if int(window) != window or window < 1:
            raise ValueError(f"the smoothing window must be a whole number of frames >= 1, "
                             f"got {window!r}")
        if not 0.0 < min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou!r}")
        self.window, self.min_iou, self.max_missed = int(window), min_iou, max_missed
        self.tracks, self._next_id = [], 0

    def _match(self, boxes):
        """{face index: track} by greedy largest-IoU matching."""
        pairs = sorted(((iou(box, t.box), k, t) for k, box in enumerate(boxes)
                        for t in self.tracks), key=lambda p: -p[0])
        matched, used = {}, set()
        for overlap, k, track in pairs:
            if overlap < self.min_iou:
                break
            if k not in matched and track.id not in used:
                matched[k] = track
                used.add(track.id)
        return matched

    def update(self, records):
        """The frame's records, smoothed, each with its `track` id."""
        matched = self._match([r["box"] for r in records])
        for track in self.tracks:
            track.missed += track not in matched.values()
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        out = []
        for k, rec in enumerate(records):
            track = matched.get(k)
            if track is None:
                track = _Track(self._next_id, rec["box"], self.window)
                self._next_id += 1
                self.tracks.append(track)
            track.box, track.missed = rec["box"], 0
            names = list(rec["probabilities"])
            track.history.append(np.array([rec["probabilities"][n] for n in names]))
            mean = np.mean(track.history, axis=0)
            best = int(np.argmax(mean))
            out.append({**rec, "label": names[best], "score": float(mean[best]),
                        "probabilities": {n: float(p) for n, p in zip(names, mean)},
                        "raw_label": rec.get("raw_label", rec["label"]),  # not "uncertain"
                        "raw_score": rec["score"],
                        "raw_probabilities": rec["probabilities"], "track": track.id,
                        "smoothed_over": len(track.history)})
        return out
