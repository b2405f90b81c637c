r"""The derivation report (``featavg report``): every claim's statement, steps, checks and figures.

What is written into the output directory (default ``derivations/``):

* ``index.md`` / ``index.html``: the overview table of all claims with their verdicts and links;
* ``<claim id>.md`` / ``.html``, one per theory claim (``featavg.theory``): statement, assumptions,
  regime, the derivation steps with each step's machine-check verdict, the lambdified predictions,
  the table of the numeric checks that test it (``featavg verify``) and its figures;
* ``<C n>.md`` / ``.html``, one per SPEC claim that has numeric checks with no theory claim of
  their own (the measured consequences of C1, C2, C5);
* ``figures/*.png`` (:mod:`featavg._figures`);
* ``.featavg-report.json``: the manifest of the files written, so that a later run removes the
  pages it no longer writes and never touches anything else.

One document model, two printers. Each page is built once as a list of blocks (headings,
paragraphs with inline mathematics, display mathematics, tables, figures); the Markdown printer
writes mathematics as LaTeX printed by SymPy (``sympy.latex``; ``$...$`` inline and ```` ```math
```` fences for display, which GitHub renders), the HTML printer as presentation MathML printed by
SymPy (``sympy.mathml`` via :func:`featavg.theory.to_mathml`), so the two versions cannot disagree. The HTML pages carry no script and
reference nothing outside the directory: they read offline in any browser with MathML (Chromium
109+, Firefox, Safari).

Reproducible. Every number is printed with at most 4 significant digits (``%.4g``) and nothing
time- or machine-dependent (wall times, paths, versions of other packages) enters a page, so the
same seed writes byte-identical Markdown and HTML; the figures are written without metadata
(:mod:`featavg._figures`). ``tests/test_report.py`` regenerates the report and compares it with
the committed ``derivations/``.
"""

import dataclasses
import html
import json
import math
import os
import re
import time

import numpy as np

from featavg.simulate import InvalidParameter, atomic_write

__all__ = ["DEFAULT_OUT", "SPEC_CLAIMS", "build_report", "render_pages", "write_pages", "mathml"]

DEFAULT_OUT = "derivations"
MANIFEST = ".featavg-report.json"

#: SPEC §2's claims by number: the short names used to group checks (SPEC.md §2)
SPEC_CLAIMS = {
    "C1": "Feature averaging",
    "C2": "Generalisation",
    "C3": "Non-robustness",
    "C4": "A robust network exists, and it is optimal",
    "C5": "Fine-grained supervision decouples",
    "C6": "Labels alone are not enough",
    "C7": "Dynamics",
}


# --------------------------------------------------------------------------------------------
# mathematics: SymPy prints both forms
# --------------------------------------------------------------------------------------------

def mathml(expr):
    """Presentation MathML of a SymPy expression (the content of a ``<math>`` element), printed
    by SymPy through :func:`featavg.theory.to_mathml`."""
    from featavg.theory import to_mathml

    return to_mathml(expr)


@dataclasses.dataclass(frozen=True)
class Math:
    """A SymPy expression in the document, printed as LaTeX (Markdown) or MathML (HTML)."""

    expr: object

    def as_latex(self):
        import sympy as sp

        return sp.latex(self.expr)

    def as_mathml(self):
        return mathml(self.expr)


# --------------------------------------------------------------------------------------------
# the document model
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Link:
    text: str
    page: str  # page stem, e.g. "C3.averaging_radius" (".md" / ".html" added by the printer)


@dataclasses.dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str | None = None


@dataclasses.dataclass(frozen=True)
class Para:
    """A paragraph: a sequence of str, :class:`Math`, :class:`Link` and ``("b", text)``
    (bold) or ``("code", text)`` runs."""

    parts: tuple


@dataclasses.dataclass(frozen=True)
class DisplayMath:
    math: Math


@dataclasses.dataclass(frozen=True)
class Table:
    header: tuple
    rows: tuple  # of tuples of cells; a cell is a str or a Para's parts tuple


@dataclasses.dataclass(frozen=True)
class Figure:
    file: str
    title: str
    caption: str


@dataclasses.dataclass(frozen=True)
class Page:
    stem: str
    title: str
    blocks: tuple


# --------------------------------------------------------------------------------------------
# number formatting (the only place numbers become text)
# --------------------------------------------------------------------------------------------

#: below this magnitude a measured number is float64 round-off (or a solver's residual): printed as
#: a bound, not as digits that change with the BLAS kernel of the machine
ROUND_OFF = 1e-8


def fmt(v, _nested=False):
    """Deterministic text of a measured value: floats with 4 significant digits, magnitudes below
    :data:`ROUND_OFF` as ``< 1e-08``, nested dicts in braces."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        if v != 0.0 and abs(v) < ROUND_OFF:
            return f"< {ROUND_OFF:.0e}" if v > 0 else f"> -{ROUND_OFF:.0e}"
        s = f"{v:.4g}"
        return "0" if s == "-0" else s
    if isinstance(v, dict):
        inner = ", ".join(f"{k} = {fmt(x, True)}" for k, x in v.items())
        return "{" + inner + "}" if _nested else inner
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(fmt(x, True) for x in v) + "]"
    return str(v)


def _status(passed):
    return "passed" if passed else "FAILED"


# --------------------------------------------------------------------------------------------
# building the pages
# --------------------------------------------------------------------------------------------

def _spec_number(claim_id):
    return claim_id.split(".", 1)[0]


def _symbolic_rows(rows):
    """``claim id -> symbolic row`` (the verify rows whose id is ``<claim>.symbolic``)."""
    return {r["claim"]: r for r in rows if r["id"].endswith(".symbolic") and r["claim"]}


def _numeric_rows(rows):
    return [r for r in rows if not r["id"].endswith(".symbolic")]


def _check_table(rows):
    header = ("check", "predicted", "measured", "tolerance", "verdict")
    body = tuple((r["id"], fmt(r["predicted"]), fmt(r["measured"]), r["tolerance"], _status(r["status"] == "passed"))
                 for r in rows)
    return Table(header, body)


def _check_details(rows):
    """Per check: its title, regime, the reason of its tolerance, its configuration and details."""
    blocks = []
    for r in rows:
        blocks.append(Heading(3, f"{r['id']}: {r['title']}", anchor=r["id"]))
        blocks.append(Para((("b", "Verdict."), f" {_status(r['status'] == 'passed')}. ",
                            ("b", "Regime."), f" {r['regime']}. ",
                            ("b", "Tolerance."), f" {r['tolerance']}: {r['reason']}.")))
        if r.get("error"):
            blocks.append(Para((("b", "Error."), " ", ("code", r["error"]))))
        blocks.append(Para((("b", "Configuration."), " ", ("code", fmt(r["config"])))))
        details = r.get("details") or {}
        if details:
            blocks.append(Table(("detail", "value"), tuple((k, fmt(v)) for k, v in details.items())))
    return blocks


def _figure_blocks(figures):
    return [Figure(f.file, f.title, f.caption) for f in figures]


def _claim_page(claim, symbolic, checks, figures):
    blocks = [Para((Link("index", "index"),)),
              Para((("b", "Statement."),)),
              DisplayMath(Math(claim.statement)),
              Para((("b", "Assumptions."), f" {claim.assumptions}")),
              Para((("b", "Regime."), f" {claim.regime}")),
              Heading(2, "Derivation")]
    results = {s["step"]: s for s in (symbolic or {}).get("details", {}).get("steps", [])}
    n_ok = sum(s["passed"] for s in results.values())
    blocks.append(Para((f"{len(claim.steps)} steps, each machine-checked by SymPy; "
                        f"{n_ok} of {len(claim.steps)} passed.",)))
    for i, step in enumerate(claim.steps, 1):
        res = results.get(step.name)
        verdict = "not run" if res is None else _status(res["passed"])
        blocks.append(Para((("b", f"Step {i}."), f" {step.name} ({verdict})")))
        blocks.append(DisplayMath(Math(step.expr)))
        if res is not None and res.get("error"):
            blocks.append(Para((("b", "Error."), " ", ("code", res["error"]))))
    if claim.predictions:
        blocks.append(Heading(2, "Predictions"))
        blocks.append(Para(("Numeric functions lambdified from the statement's expressions "
                            "(never retyped); the checks below call them.",)))
        rows = []
        for name in sorted(claim.predictions):
            fn = claim.predictions[name]
            doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
            rows.append((name, doc))
        blocks.append(Table(("prediction", "returns"), tuple(rows)))
    blocks.append(Heading(2, "Numeric checks"))
    if checks:
        blocks.append(_check_table(checks))
        blocks.extend(_check_details(checks))
    else:
        blocks.append(Para(("No numeric check uses this claim's predictions; its steps are its check.",)))
    if figures:
        blocks.append(Heading(2, "Figures"))
        blocks.extend(_figure_blocks(figures))
    return Page(claim.id, f"{claim.id}: {claim.title}", tuple(blocks))


def _spec_page(number, checks, figures):
    blocks = [Para((Link("index", "index"),)),
              Para((f"Numeric checks of SPEC claim {number} ({SPEC_CLAIMS.get(number, '')}) that measure a "
                    "consequence of the claim directly, with no symbolic theory claim of their own.",)),
              Heading(2, "Numeric checks"), _check_table(checks), *_check_details(checks)]
    if figures:
        blocks.append(Heading(2, "Figures"))
        blocks.extend(_figure_blocks(figures))
    return Page(number, f"{number}: {SPEC_CLAIMS.get(number, '')} (measured)", tuple(blocks))


def render_pages(claims, rows, figures, *, seed, quick):
    """The report's pages from the theory claims, the ``verify`` rows and the figure results.

    Parameters
    ----------
    claims : list of featavg.theory.Claim
    rows : list of dict
        :func:`featavg._verify.run_checks` rows (numeric checks and one ``<claim>.symbolic`` row
        per claim).
    figures : list of featavg._figures.FigureResult
    seed : int
    quick : bool

    Returns
    -------
    list of Page, the index first
    """
    from featavg import __version__

    symbolic = _symbolic_rows(rows)
    numeric = _numeric_rows(rows)
    by_claim, loose = {}, {}
    for r in numeric:
        if r["claim"]:
            by_claim.setdefault(r["claim"], []).append(r)
        else:
            loose.setdefault(_spec_number(r["id"]), []).append(r)
    figs_by_claim = {}
    for f in figures:
        for c in f.claims:
            figs_by_claim.setdefault(c, []).append(f)
    unknown = sorted(set(by_claim) - {c.id for c in claims})
    if unknown:
        raise InvalidParameter("rows", f"checks of unknown claims {unknown}", "claims of featavg.theory")

    pages = []
    overview = []
    for c in claims:
        sym = symbolic.get(c.id)
        n_steps = len(c.steps)
        n_steps_ok = sum(s["passed"] for s in (sym or {}).get("details", {}).get("steps", []))
        checks = by_claim.get(c.id, [])
        n_checks_ok = sum(r["status"] == "passed" for r in checks)
        ok = sym is not None and sym["status"] == "passed" and n_checks_ok == len(checks)
        overview.append((_spec_number(c.id), (Link(c.id, c.id),), c.title, f"{n_steps_ok}/{n_steps}",
                         f"{n_checks_ok}/{len(checks)}", _status(ok)))
        pages.append(_claim_page(c, sym, checks, figs_by_claim.get(c.id, [])))
    spec_rows = []
    for number in sorted(loose):
        checks = loose[number]
        n_ok = sum(r["status"] == "passed" for r in checks)
        spec_rows.append((number, (Link(number, number),), SPEC_CLAIMS.get(number, ""),
                          f"{n_ok}/{len(checks)}", _status(n_ok == len(checks))))
        pages.append(_spec_page(number, checks, figs_by_claim.get(number, [])))

    n_pass = sum(r["status"] == "passed" for r in rows)
    blocks = [
        Para(("The derivation report of ", ("code", "featavg"), f" {__version__}: each claim of the theory of "
              "feature averaging (Li, Pan, Lyu, Li, ICLR 2025) with its statement, its derivation steps "
              "machine-checked by SymPy, the numeric checks that test it against exact simulations, and "
              "its figures. Written by ", ("code", "featavg report" + (" --quick" if quick else "")),
              f" with seed {seed}; do not edit, regenerate.")),
        Para((("b", "Verdict."), f" {n_pass} of {len(rows)} checks passed ({len(numeric)} numeric, "
              f"{len(symbolic)} symbolic: one per claim, all of its steps).")),
        Heading(2, "Claims"),
        Table(("SPEC", "claim", "title", "steps passed", "numeric checks passed", "verdict"), tuple(overview)),
    ]
    if spec_rows:
        blocks += [Heading(2, "Measured consequences"),
                   Para(("Numeric checks of SPEC claims that have no symbolic claim of their own.",)),
                   Table(("SPEC", "page", "claim", "checks passed", "verdict"), tuple(spec_rows))]
    if figures:
        blocks += [Heading(2, "Figures"),
                   Table(("figure", "claims"), tuple(((f.title,), tuple(_join_links(f.claims))) for f in figures))]
        blocks += _figure_blocks(figures)
    index = Page("index", "featavg derivation report", tuple(blocks))
    return [index] + pages


def _join_links(ids):
    parts = []
    for i, c in enumerate(ids):
        if i:
            parts.append(", ")
        parts.append(Link(c, c))
    return parts


# --------------------------------------------------------------------------------------------
# Markdown printer
# --------------------------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]<>|#$~])")


def _md_text(s):
    return _MD_ESCAPE.sub(r"\\\1", s)


def _md_parts(parts, in_table=False):
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_md_text(p))
        elif isinstance(p, Math):
            out.append(f"${p.as_latex()}$")
        elif isinstance(p, Link):
            out.append(f"[{_md_text(p.text)}]({p.page}.md)")
        elif p[0] == "b":
            out.append(f"**{_md_text(p[1])}**")
        elif p[0] == "code":
            code = p[1].replace("|", "\\|") if in_table else p[1]
            out.append(f"`{code}`")
        else:  # pragma: no cover - a programming error
            raise ValueError(p)
    return "".join(out)


def _md_cell(cell):
    return _md_parts(cell, in_table=True) if isinstance(cell, tuple) else _md_text(cell)


def render_markdown(page):
    lines = [f"# {_md_text(page.title)}", ""]
    for b in page.blocks:
        if isinstance(b, Heading):
            lines += [f"{'#' * b.level} {_md_text(b.text)}", ""]
        elif isinstance(b, Para):
            lines += [_md_parts(b.parts), ""]
        elif isinstance(b, DisplayMath):
            lines += ["```math", b.math.as_latex(), "```", ""]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(_md_text(h) for h in b.header) + " |")
            lines.append("|" + "|".join("---" for _ in b.header) + "|")
            for row in b.rows:
                lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
            lines.append("")
        elif isinstance(b, Figure):
            lines += [f"![{_md_text(b.title)}]({b.file})", "", f"*{_md_text(b.title)}.* {_md_text(b.caption)}", ""]
        else:  # pragma: no cover
            raise TypeError(b)
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# HTML printer (no script, nothing outside the directory)
# --------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
math[display="block"] { margin: 0.75rem 0; overflow-x: auto; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.95rem; color: #333; }
code { background: #f5f5f5; padding: 0 0.2rem; }
.FAILED { color: #b00020; font-weight: bold; }
"""

_MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def _html_math(m, display):
    ml = m.as_mathml()
    mode = "block" if display else "inline"
    return f'<math xmlns="{_MATHML_NS}" display="{mode}">{ml}</math>'


def _html_parts(parts):
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(html.escape(p, quote=False))
        elif isinstance(p, Math):
            out.append(_html_math(p, False))
        elif isinstance(p, Link):
            out.append(f'<a href="{html.escape(p.page)}.html">{html.escape(p.text)}</a>')
        elif p[0] == "b":
            out.append(f"<strong>{html.escape(p[1], quote=False)}</strong>")
        elif p[0] == "code":
            out.append(f"<code>{html.escape(p[1], quote=False)}</code>")
        else:  # pragma: no cover
            raise ValueError(p)
    return "".join(out)


def _html_cell(cell, tag):
    if isinstance(cell, tuple):
        return f"<{tag}>{_html_parts(cell)}</{tag}>"
    cls = f' class="{cell}"' if cell == "FAILED" else ""
    return f"<{tag}{cls}>{html.escape(cell, quote=False)}</{tag}>"


def render_html(page):
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(page.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{html.escape(page.title)}</h1>"]
    for b in page.blocks:
        if isinstance(b, Heading):
            anchor = f' id="{html.escape(b.anchor)}"' if b.anchor else ""
            out.append(f"<h{b.level}{anchor}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_html_parts(b.parts)}</p>")
        elif isinstance(b, DisplayMath):
            out.append(_html_math(b.math, True))
        elif isinstance(b, Table):
            out.append("<table>")
            out.append("<tr>" + "".join(_html_cell(h, "th") for h in b.header) + "</tr>")
            for row in b.rows:
                out.append("<tr>" + "".join(_html_cell(c, "td") for c in row) + "</tr>")
            out.append("</table>")
        elif isinstance(b, Figure):
            out.append(f'<figure><img src="{html.escape(b.file)}" alt="{html.escape(b.title)}">'
                       f"<figcaption><strong>{html.escape(b.title)}.</strong> {html.escape(b.caption)}"
                       "</figcaption></figure>")
        else:  # pragma: no cover
            raise TypeError(b)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

def _write_text(path, text):
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_pages(out_dir, pages, figure_files=()):
    """Write every page as Markdown and HTML; remove the pages a previous report wrote and this one
    does not (per the manifest; nothing else is ever removed). Returns the sorted list of files."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for page in pages:
        for ext, render in ((".md", render_markdown), (".html", render_html)):
            name = page.stem + ext
            _write_text(os.path.join(out_dir, name), render(page))
            written.append(name)
    written += list(figure_files)
    written = sorted(written)
    manifest = os.path.join(out_dir, MANIFEST)
    previous = []
    if os.path.exists(manifest):
        try:
            with open(manifest, encoding="utf-8") as fh:
                previous = json.load(fh).get("files", [])
        except (OSError, ValueError):
            previous = []
    for name in sorted(set(previous) - set(written)):
        path = os.path.join(out_dir, name)
        if os.path.isfile(path) and os.path.normpath(name) == name and not name.startswith(".."):
            os.remove(path)
    _write_text(manifest, json.dumps({"generator": "featavg report", "files": written}, indent=1) + "\n")
    return written


def build_report(out_dir=DEFAULT_OUT, *, seed=0, quick=False, progress=None, figures=True):
    """Run every check and figure and write the report into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
    seed : int
        Seed of every check and figure (recorded on the index page).
    quick : bool
        The smaller sizes of ``featavg verify --quick`` and of the figures.
    progress : callable, optional
        Called with 1 after each check and each figure.
    figures : bool
        Whether to make the figures (False: pages only, for tests of the printers).

    Returns
    -------
    dict
        ``out_dir``, ``files``, ``figures`` (id, file, title), ``checks``, ``passed``, ``seconds``.
    """
    from featavg import _verify
    from featavg.theory import all_claims

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter("seed", seed, "an integer >= 0")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InvalidParameter("out", out_dir, "a directory (existing or new), not a file")
    start = time.perf_counter()
    ctx = _verify.VerifyContext(quick=quick, seed=int(seed))
    rows = _verify.run_checks(_verify.all_checks(), ctx, progress=progress)
    figs = []
    if figures:
        from featavg._figures import make_figures

        figs = make_figures(out_dir, seed=int(seed), quick=quick, progress=progress, context=ctx)
    pages = render_pages(all_claims(), rows, figs, seed=int(seed), quick=quick)
    files = write_pages(out_dir, pages, [f.file for f in figs])
    n_pass = sum(r["status"] == "passed" for r in rows)
    return {"out_dir": out_dir, "files": files, "pages": len(pages),
            "figures": [{"id": f.id, "file": f.file, "title": f.title} for f in figs],
            "checks": len(rows), "passed": n_pass, "failed": [r["id"] for r in rows if r["status"] != "passed"],
            "seed": int(seed), "quick": bool(quick), "seconds": time.perf_counter() - start}


def count_units(figures=True):
    """Progress-bar units of :func:`build_report`: one per check and per figure."""
    from featavg import _verify

    n = len(_verify.all_checks())
    if figures:
        from featavg._figures import FIGURES

        n += len(FIGURES)
    return n
