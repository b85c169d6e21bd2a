"""What the command-line tools print: TensorFlow's native start-up lines only with ``--verbose``.

TensorFlow and XLA write their start-up block from C++ straight to file descriptor 2, before
and regardless of Python's logging, and (on TensorFlow 2.21) twice: absl's "All log messages
before absl::InitializeLog()" notice, ``I0000`` lines about oneDNN, CUDA drivers and CPU
instructions, and on a machine without a GPU
``E0000 ... failed call to cuInit: INTERNAL: CUDA error ... UNKNOWN ERROR (303)``. None of them
is a problem. :func:`quiet_native_logs` routes descriptor 2 through a filter for the rest of the
process that drops exactly those lines (``NOISE``; also LiteRT's "Created TensorFlow Lite XNNPACK
delegate" and the converter's "fully_quantize: ..." line) and passes everything else, including
the tools' own messages, Python warnings, tracebacks and other native errors, in order.

The Python API does the same: ``import fer_keras`` installs the filter the moment Keras is first
imported (`fer_keras.registration`), so ``fer_keras.light_ntwrn()`` in a script prints nothing
of TensorFlow's start-up. ``FER_KERAS_NATIVE_LOGS=1`` (or a tool's ``--verbose``) keeps them.
"""

import atexit
import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
    rb"|E\d{4} [\d:.]+ +\d+ \S+:\d+\] .*(?:cuInit|CUDA|cuda)"
    rb"|To enable the following instructions: .* rebuild TensorFlow"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU"
    rb"|fully_quantize: \d+, inference_type: \d+)")
SHOW_ENV = "FER_KERAS_NATIVE_LOGS"  # "1": never filter
_ACTIVE = []


def add_verbose_flag(parser):
    """Adds ``--verbose`` (show TensorFlow's native start-up logs) to an argparse parser."""
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's native start-up logs (hidden by default)")
    return parser


def quiet_native_logs(verbose=False):
    """Filters TensorFlow's start-up lines out of stderr from now on, unless `verbose`.

    Call it after parsing the arguments and before TensorFlow is imported. Idempotent. Nothing
    is filtered where Python's stderr is not the process's own (pytest's capture, a notebook
    kernel): there the descriptor belongs to the host.
    """
    if verbose:
        os.environ[SHOW_ENV] = "1"  # the Keras-import hook (`registration`) leaves them too
    if os.environ.get(SHOW_ENV) == "1":
        verbose = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")
    if verbose or _ACTIVE or sys.stderr is not sys.__stderr__:
        return
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_forward, args=(read_end, original), daemon=True)
    thread.start()
    _ACTIVE.append((original, thread))
    atexit.register(_restore)


def _forward(read_end, original):
    """Copies the pipe to the real stderr, segment by segment ("\\n" or "\\r": progress bars
    keep updating), leaving out the lines that match NOISE."""
    pending = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        pending += chunk
        segments = re.split(rb"(?<=[\r\n])", pending)
        pending = segments.pop()
        out = b"".join(s for s in segments if not NOISE.match(s))
        if out:
            os.write(original, out)
    if pending and not NOISE.match(pending):
        os.write(original, pending)
    os.close(read_end)


def _restore():
    """Puts the real stderr back, which closes the pipe, and lets the filter drain it."""
    if not _ACTIVE:
        return
    original, thread = _ACTIVE.pop()
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(original, 2)
    thread.join(timeout=5)


def exit_now(status):
    """Ends the process at once with `status` (`os._exit`: no atexit handlers, no interpreter
    shutdown), after flushing stdout and draining the filtered stderr."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    _restore()
    os._exit(status)


def parse_quietly(parser, argv=None):
    """`parser.parse_args(argv)`, then :func:`quiet_native_logs` with its ``--verbose``."""
    args = parser.parse_args(argv)
    quiet_native_logs(getattr(args, "verbose", False))
    return args

