"""One matplotlib figure with a grid and a legend, saved as PNG (headless)."""

from contextlib import contextmanager


@contextmanager
def figure(path, size=(7, 4.5)):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=size)
    yield ax
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
