"""Stopping a training run at the end of its current epoch, on request (SIGTERM).

`python -m fer_keras.train` turns SIGTERM into a request (`on_sigterm`): the epoch in progress
finishes and the fold writes the artifacts of its best epoch so far, as when its `--time-limit`
passes (metrics.json says how many of the configured epochs were trained); folds not yet started
are left for later, and the same command resumes the run. A second SIGTERM, or SIGINT, stops at
once (the fold then resumes from its last checkpoint, and its folder keeps no metrics.json until
it finishes). `python -m fer_keras.reproduce campaign --stop` sends the request to the
campaign's training run, so a session can end the campaign early without losing an epoch's work
or the fold's metrics.json.
"""

import contextlib
import signal
import sys
import threading

_REQUESTED = []


def request():
    """Asks the training loop to stop after the epoch in progress."""
    _REQUESTED.append(True)


def requested():
    """True once a stop has been requested (until `on_sigterm`'s block ends)."""
    return bool(_REQUESTED)


def reason(time_limit):
    """Why a run stops early: the request, or the time limit of `time_limit` seconds (None: the
    run was interrupted in an earlier process)."""
    if requested():
        return "stop requested (SIGTERM)"
    return "interrupted" if time_limit is None else f"time limit of {time_limit:g} s reached"


def how_stopped():
    """metrics.json's words for why a fold stopped before its last epoch in this process ("stopped
    ... after 12 of 350 epochs")."""
    return "on request (SIGTERM)" if requested() else "by the time limit"


def _handler(signum, frame):
    if requested():
        raise KeyboardInterrupt  # a second request: stop at once
    request()
    print("stop requested: finishing the current epoch, then writing the artifacts of the best "
          "epoch so far (send it again to stop at once)", file=sys.stderr, flush=True)


@contextlib.contextmanager
def on_sigterm():
    """Within the block, SIGTERM requests a stop after the current epoch (main thread only;
    elsewhere signals cannot be handled and the block changes nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _REQUESTED.clear()
