"""Matplotlib figures drawn headless into PNG bytes, so a report writes its figure with its
JSON and Markdown all or nothing (`sim.files.write_files`)."""

import io
from contextlib import contextmanager


@contextmanager
def figure(files, name, size=(7, 4.5), ncols=1):
    """Draw on the yielded axes (a tuple of `ncols` axes when ncols > 1); on exit each gets a
    grid and a legend and the PNG goes into `files[name]`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=size)
    try:
        yield axes
        for ax in (axes if ncols > 1 else [axes]):
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=120)
        files[name] = png.getvalue()
    finally:
        plt.close(fig)
