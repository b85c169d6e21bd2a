"""What every figure of `fer_keras.plots` is drawn on: a pyplot-free `Figure`, a log axis with
plain numbers, box and legend patches, and the grey-level settings for face crops."""

# Face crops are shown with nearest-neighbour upscaling: sharp pixels, and small PNGs to commit.
GRAY = {"cmap": "gray", "vmin": 0, "vmax": 255, "interpolation": "nearest"}


def new_figure(figsize):
    """A constrained-layout `Figure` made without pyplot (any backend, no global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def log_axis(ax):
    """A log-scale y axis labelled with plain numbers (1, 10, 100, not 10^2)."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def rectangle(xy, w, h, colour, style):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, fill=False, edgecolor=colour, linestyle=style, linewidth=1.5)


def patch(colour):
    from matplotlib.patches import Patch

    return Patch(color=colour)
