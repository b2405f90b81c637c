r"""Drawing and writing the report's figures (the figures themselves live in the claim modules).

A figure is a :class:`featavg.evidence.Figure` in a claim module: an ``id``, a ``title``, the
claims on whose pages it appears, and ``build(ctx) -> (Figure, caption, data)`` run in the
report's :class:`featavg._verify.VerifyContext` (so a figure reuses the runs and radii its checks
measured). :func:`make_figures` runs the builders and writes ``figures/<id>.png``.

Helpers for builders: :func:`new_figure`, :func:`paper_text`, :func:`fit_text`,
:func:`plot_power_law`, and the colour constants.

Reproducibility. Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas (no
pyplot, no global backend), under Matplotlib's default style, at a fixed size and :data:`DPI`,
and saved as PNG without metadata (no ``Software`` text chunk; Matplotlib writes no timestamp
into a PNG), so the same seed on the same machine gives byte-identical files. Numbers in
captions are printed by :func:`featavg._output.fmt` (4 significant digits, round-off as
``< 1e-08``). Files are written atomically (:func:`featavg.simulate.atomic_write`).
"""

import io
import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["FigureResult", "DPI", "make_figures", "new_figure", "paper_text", "fit_text", "round_data",
           "BLUE", "RED", "GREEN", "ORANGE", "LIGHT_BLUE", "LIGHT_RED"]

#: resolution of every PNG (pixels per inch); sizes are fixed per figure in inches
DPI = 100

#: significant digits of the floats stored in ``FigureResult.data``
DATA_DIGITS = 6

#: colours: J+ / its neurons, J- / its neurons, the decoupled net, predictions; bands of spreads
BLUE, RED, GREEN, ORANGE = "tab:blue", "tab:red", "tab:green", "tab:orange"
LIGHT_BLUE, LIGHT_RED = "#c6dbef", "#fbc4c4"


@dataclass(frozen=True)
class FigureResult:
    """One written figure.

    Attributes
    ----------
    id : str
    file : str
        PNG path relative to the output directory, ``"figures/<id>.png"``.
    title : str
    caption : str
    claims : tuple of str
        The claims on whose pages it appears.
    data : dict
        JSON-ready numbers shown in the figure, floats rounded to :data:`DATA_DIGITS` digits.
    error : str or None
        The builder's exception, if it failed (the report then shows the failure on the page).
    """

    id: str
    file: str
    title: str
    caption: str
    claims: tuple
    data: dict
    error: str | None = None


def round_data(x, digits=DATA_DIGITS):
    """``x`` made JSON-ready: floats to ``digits`` significant digits, arrays to lists, recursively."""
    if isinstance(x, dict):
        return {str(k): round_data(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [round_data(v, digits) for v in x]
    if isinstance(x, np.ndarray):
        return round_data(x.tolist(), digits)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return float(f"{x:.{digits}g}") if math.isfinite(x) else None
    return x


def new_figure(size):
    """A Matplotlib figure of ``size`` inches on the Agg canvas (no pyplot), constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig):
    """The figure as PNG bytes, without metadata (no Software chunk, no timestamp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def paper_text(run):
    """One line naming a run's configuration for a caption."""
    c = run.config
    return (f"k={c.k}, d={c.d}, n={c.n}, m={c.m}, eta={c.eta:g}, {c.steps} GD steps, init {c.init_scale:g}, "
            f"seed {c.seed}, {c.engine} engine")


def fit_text(fit):
    """``slope (95% CI [lo, hi])`` of :func:`featavg.evidence.fit_power_law`'s result."""
    from featavg._output import fmt

    lo, hi = fit["ci"]
    return f"{fmt(fit['slope'])} (95% CI [{fmt(lo)}, {fmt(hi)}])"


def make_figures(out_dir, figures, ctx, progress=None):
    """Build and write each :class:`featavg.evidence.Figure` under ``out_dir/figures/``.

    A builder that raises becomes a :class:`FigureResult` with ``error`` set (no file), so the
    report shows the failure instead of aborting.

    Returns
    -------
    list of FigureResult, in the order of ``figures``
    """
    import matplotlib.style

    from featavg.simulate import atomic_write

    fig_dir = os.path.join(os.fspath(out_dir), "figures")
    os.makedirs(fig_dir, exist_ok=True)
    results = []
    for spec in figures:
        rel = f"figures/{spec.id}.png"
        try:
            with matplotlib.style.context("default"):
                fig, caption, data = spec.build(ctx)
                png = png_bytes(fig)
            with atomic_write(os.path.join(fig_dir, f"{spec.id}.png")) as fh:
                fh.write(png)
            results.append(FigureResult(spec.id, rel, spec.title, caption, tuple(spec.claims),
                                        round_data({"quick": ctx.quick, **data})))
        except Exception as exc:  # a failed figure is reported on its pages, never a crash
            results.append(FigureResult(spec.id, rel, spec.title, "", tuple(spec.claims), {},
                                        error=f"{type(exc).__name__}: {exc}"))
        if progress is not None:
            progress(1)
    return results
