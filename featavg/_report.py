r"""The derivation report (``featavg report``): every claim's statement, steps, checks and figures.

What is written into the output directory (default ``derivations/``):

* ``index.md`` / ``index.html``: the overview table of all claims with their verdicts and links;
* ``<claim id>.md`` / ``.html``, one per claim module (:mod:`featavg.claims` and any ``--claims``
  file): statement, assumptions, regime, the derivation steps with each step's machine-check
  verdict and generality (general, or an instance check at stated sizes), the lambdified
  predictions, the numeric checks of ``featavg verify`` with their bands, intervals, seeds and
  rivals, and the claim's figures;
* ``figures/*.png`` (the claim modules' :class:`featavg.evidence.Figure` objects, drawn by
  :mod:`featavg._figures`);
* ``report.tex``: the same content as a LaTeX appendix (:mod:`featavg._report_latex`; amsmath,
  SymPy's LaTeX printer), which ``pdflatex`` compiles into a PDF;
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
import os
import re
import time

import numpy as np

from featavg._errors import InvalidParameter
from featavg._output import fmt
from featavg.simulate import atomic_write

__all__ = ["DEFAULT_OUT", "build_report", "render_pages", "write_pages", "mathml", "fmt"]

DEFAULT_OUT = "derivations"
MANIFEST = ".featavg-report.json"

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


def prose(value):
    """The parts of a paragraph for ``value``: a ``str`` as itself, a :class:`featavg.theory.Text`
    as its strings and :class:`Math` runs (typeset by each printer), anything else as ``str``."""
    from featavg.theory import Text

    if isinstance(value, Text):
        return tuple(p if isinstance(p, str) else Math(p) for p in value.parts)
    return (value if isinstance(value, str) else str(value),)


def plain_text(value):
    """One line of text for ``value`` (a :class:`featavg.theory.Text` in Unicode), for ``<title>``."""
    return str(value)


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
    text: object  # str, or a tuple of paragraph parts (str and Math)
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
    title: object  # str, or a tuple of paragraph parts (str and Math); see page_title
    blocks: tuple


def _title_parts(title):
    return title if isinstance(title, tuple) else (title,)


def _title_plain(title):
    if isinstance(title, tuple):
        from featavg.theory._claim import plain

        return "".join(p if isinstance(p, str) else plain(p.expr) for p in title)
    return title


_STATUS_TEXT = {"passed": "passed", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}

#: vectors longer than this are summarised on a page (count, range); the JSON keeps every value
MAX_LISTED = 10


def fmt_page(v):
    """:func:`featavg._output.fmt`, with long vectors summarised as ``N values in [min, max]``."""
    if isinstance(v, (list, tuple)) and len(v) > MAX_LISTED and all(isinstance(x, (int, float)) for x in v):
        return f"{len(v)} values in [{fmt(min(v))}, {fmt(max(v))}]"
    if isinstance(v, dict):
        return ", ".join(f"{k} = {fmt_page(x) if isinstance(x, (list, tuple)) else fmt(x, True)}" for k, x in v.items())
    return fmt(v)


def _status(status):
    """The page text of a row status (``True``/``False`` accepted for derivation steps)."""
    if isinstance(status, bool):
        status = "passed" if status else "failed"
    return _STATUS_TEXT[status]


def _claim_status(rows):
    """A claim's verdict from its rows: failed if any failed, else inconclusive if any is, else passed."""
    statuses = {r["status"] for r in rows}
    if not rows or "failed" in statuses:
        return "failed"
    return "inconclusive" if "inconclusive" in statuses else "passed"


# --------------------------------------------------------------------------------------------
# building the pages
# --------------------------------------------------------------------------------------------

def _band_text(r):
    b = r.get("band")
    if not b:
        return "-"
    return f"[{fmt_page(b['lo'])}, {fmt_page(b['hi'])}]"


def _rivals_text(r):
    rivals = r.get("rivals") or []
    return f"{sum(x['status'] == 'rejected' for x in rivals)} of {len(rivals)} rejected" if rivals else "none"


def _check_table(rows):
    header = ("check", "predicted", "measured", "band", "rivals", "verdict")
    body = tuple((r["id"], fmt_page(r["predicted"]), fmt_page(r["measured"]), _band_text(r), _rivals_text(r),
                  _status(r["status"])) for r in rows)
    return Table(header, body)


def _check_details(rows):
    """Per check: title, regime, the band with every term's reason, interval, seeds, rivals, config."""
    blocks = []
    for r in rows:
        blocks.append(Heading(3, f"{r['id']}: {r['title']}", anchor=r["id"]))
        blocks.append(Para((("b", "Verdict."), f" {_status(r['status'])}: {r.get('verdict', '')}. ",
                            ("b", "Regime."), f" {r['regime']}.")))
        blocks.append(Para((("b", "Band."), f" {r.get('tolerance', '-')}.")))
        if r.get("interval") is not None:
            blocks.append(Para((("b", "Measured interval."), f" {fmt_page(r['interval'])} "
                                f"(confidence {fmt(r['config'].get('confidence'))}); seeds {fmt(r.get('seeds'))}.")))
        if r.get("baseline") is not None:
            blocks.append(Para((("b", "Prediction from the sizes alone."), f" {fmt_page(r['baseline'])} (the prediction "
                                "above uses measured properties of the sample or the trained net).")))
        cert = r.get("certificates")
        if cert:
            blocks.append(Para((("b", "Exact radii."), f" {cert['points']} certified brackets, {cert['verified']} "
                                f"verified; largest relative gap {fmt(cert['max_gap'])}.")))
        if r.get("rivals"):
            blocks.append(Table(("rival", "what it models", "predicted", "verdict"),
                                tuple((x["name"], x["why"], fmt_page(x["predicted"]), x["status"]) for x in r["rivals"])))
        if r.get("error"):
            blocks.append(Para((("b", "Error."), " ", ("code", r["error"]))))
        blocks.append(Para((("b", "Configuration."), " ", ("code", fmt_page(r["config"])))))
        details = r.get("details") or {}
        if details:
            blocks.append(Table(("detail", "value"), tuple((k, fmt_page(v)) for k, v in details.items())))
    return blocks


def _figure_blocks(figures):
    out = []
    for f in figures:
        if f.error:
            out.append(Para((("b", f"Figure {f.id} failed."), " ", ("code", f.error))))
        else:
            out.append(Figure(f.file, f.title, f.caption))
    return out


def _claim_page(claim, symbolic, checks, figures, source):
    blocks = [Para((Link("index", "index"),)),
              Para((("b", "Statement."),)),
              DisplayMath(Math(claim.statement)),
              Para((("b", "Assumptions."), " ", *prose(claim.assumptions))),
              Para((("b", "Regime."), " ", *prose(claim.regime))),
              Heading(2, "Derivation")]
    if source is not None:
        blocks.insert(1, Para((("b", "Source."), " ", ("code", source))))
    results = {s["step"]: s for s in (symbolic or {}).get("details", {}).get("steps", [])}
    n_ok = sum(s["passed"] for s in results.values())
    n_general = sum(st.generality == "general" for st in claim.steps)
    blocks.append(Para((f"{len(claim.steps)} steps, each machine-checked by SymPy; {n_ok} of {len(claim.steps)} "
                        f"passed; {n_general} general (symbolic sizes), {len(claim.steps) - n_general} instance "
                        "checks at stated sizes.",)))
    for i, step in enumerate(claim.steps, 1):
        res = results.get(str(step.name))
        verdict = "not run" if res is None else _status(res["passed"])
        scope = "general" if step.generality == "general" else f"instance check: {step.instances}"
        blocks.append(Para((("b", f"Step {i}."), " ", *prose(step.name), f" ({verdict}; {scope})")))
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
        blocks.append(Para(("No numeric check ran.",)))
    if figures:
        blocks.append(Heading(2, "Figures"))
        blocks.extend(_figure_blocks(figures))
    return Page(claim.id, (f"{claim.id}: ", *prose(claim.title)), tuple(blocks))


def render_pages(claims, rows, figures, *, seed, quick, sources=None, load_errors=()):
    """The report's pages from the claims, the ``verify`` rows and the figure results.

    Parameters
    ----------
    claims : list of featavg.theory.Claim
    rows : list of dict
        :func:`featavg._verify.run_checks` rows (numeric rows and one ``<claim>.symbolic`` row per claim).
    figures : list of featavg._figures.FigureResult
    seed : int
    quick : bool
    sources : dict, optional
        ``claim id -> source`` for user claims (shown on their pages).
    load_errors : list of dict
        The rows of claims that could not be loaded (listed on the index).

    Returns
    -------
    list of Page, the index first
    """
    from featavg import __version__

    sources = sources or {}
    symbolic = {r["claim"]: r for r in rows if r.get("kind") == "symbolic"}
    by_claim = {}
    for r in rows:
        if r.get("kind") == "numeric":
            by_claim.setdefault(r["claim"], []).append(r)
    figs_by_claim = {}
    for f in figures:
        for c in f.claims:
            figs_by_claim.setdefault(c, []).append(f)
    unknown = sorted(set(by_claim) - {c.id for c in claims})
    if unknown:
        raise InvalidParameter("rows", f"checks of unknown claims {unknown}", "rows of the given claims")

    pages, overview = [], []
    for c in claims:
        sym = symbolic.get(c.id)
        steps = (sym or {}).get("details", {}).get("steps", [])
        n_steps_ok = sum(s["passed"] for s in steps)
        n_general = sum(st.generality == "general" for st in c.steps)
        checks = by_claim.get(c.id, [])
        n_checks_ok = sum(r["status"] == "passed" for r in checks)
        status = _claim_status(checks + ([sym] if sym else []))
        overview.append(((Link(c.id, c.id),), prose(c.title), f"{n_steps_ok}/{len(c.steps)} ({n_general} general)",
                         f"{n_checks_ok}/{len(checks)}", _status(status)))
        pages.append(_claim_page(c, sym, checks, figs_by_claim.get(c.id, []), sources.get(c.id)))

    n_pass = sum(r["status"] == "passed" for r in rows)
    n_inc = sum(r["status"] == "inconclusive" for r in rows)
    n_num = sum(r.get("kind") == "numeric" for r in rows)
    blocks = [
        Para(("The derivation report of ", ("code", "featavg"), f" {__version__}: each claim of the theory of "
              "feature averaging (Li, Pan, Lyu, Li, ICLR 2025) with its statement, its derivation steps "
              "machine-checked by SymPy, the numeric checks that test it against exact simulations (each with "
              "its band, computed from named quantities, and the rival predictions it must reject), and "
              "its figures. Written by ", ("code", "featavg report" + (" --quick" if quick else "")),
              f" with seed {seed}; do not edit, regenerate.")),
        Para((("b", "Verdict."), f" {n_pass} of {len(rows)} rows passed, {n_inc} inconclusive ({n_num} numeric, "
              f"{len(symbolic)} symbolic: one per claim, all of its steps). A numeric row passes when the measured "
              "value lies in its band and every rival is rejected.")),
        Heading(2, "Claims"),
        Table(("claim", "title", "steps passed", "numeric checks passed", "verdict"), tuple(overview)),
    ]
    lemma_ids = [c.id for c in claims if getattr(c, "kind", "claim") == "lemma"]
    if lemma_ids:  # the lemmas (kind="lemma"): the proofs' high-probability steps, one row per Monte Carlo check
        lemma_rows = tuple(((Link(r["claim"], r["claim"]),), r["id"], fmt_page(r["measured"]), fmt_page(r.get("interval")),
                            fmt_page((r.get("details") or {}).get("draws")), _rivals_text(r), _status(r["status"]))
                           for cid in lemma_ids for r in by_claim.get(cid, []))
        blocks += [Heading(2, "Lemmas"),
                   Para(("The high-probability steps of the proofs (claims of kind lemma): each states an event and "
                         "its probability bound, derived in SymPy, and is checked by Monte Carlo over independent "
                         "draws with an exact binomial test; the rival is the same bound with its constant a factor "
                         "of 2 smaller.",)),
                   Table(("lemma", "check", "estimated probability", "interval", "draws", "rivals", "verdict"),
                         lemma_rows)]
    if load_errors:
        blocks += [Heading(2, "Claims that could not be loaded"),
                   Table(("source", "error"), tuple((e["details"]["source"], e["error"]) for e in load_errors))]
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


def render_parts(parts, *, text, math, link, bold, code):
    """One paragraph's parts (str, :class:`Math`, :class:`Link`, ``("b", s)``, ``("code", s)``) in one
    output format: each kind of part goes through its own function, the results are joined."""
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(text(p))
        elif isinstance(p, Math):
            out.append(math(p))
        elif isinstance(p, Link):
            out.append(link(p))
        elif p[0] == "b":
            out.append(bold(p[1]))
        elif p[0] == "code":
            out.append(code(p[1]))
        else:  # pragma: no cover - a programming error
            raise ValueError(p)
    return "".join(out)


def _md_parts(parts, in_table=False):
    return render_parts(parts, text=_md_text, math=lambda p: f"${p.as_latex()}$",
                        link=lambda p: f"[{_md_text(p.text)}]({p.page}.md)", bold=lambda s: f"**{_md_text(s)}**",
                        code=lambda s: "`" + (s.replace("|", "\\|") if in_table else s) + "`")


def _md_cell(cell):
    return _md_parts(cell, in_table=True) if isinstance(cell, tuple) else _md_text(cell)


def render_markdown(page):
    lines = [f"# {_md_parts(_title_parts(page.title))}", ""]
    for b in page.blocks:
        if isinstance(b, Heading):
            lines += [f"{'#' * b.level} {_md_parts(_title_parts(b.text))}", ""]
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
/* A wide equation scrolls sideways inside its own box. The box, not the <math> element, carries
   the overflow: a MathML element with overflow-x: auto gets overflow-y: auto too (CSS makes the
   pair non-visible together), and its glyphs' ink, a pixel or two beyond its box, then draws a
   vertical scrollbar beside every equation in Chromium. overflow-y: hidden on the box, with
   padding for the ink, keeps only the horizontal one, and only where it is needed. */
.display-math { overflow-x: auto; overflow-y: hidden; padding: 0.35rem 0; }
math[display="block"] { margin: 0.4rem 0; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.95rem; color: #333; }
code { background: #f5f5f5; padding: 0 0.2rem; }
.FAILED { color: #b00020; font-weight: bold; }
.INCONCLUSIVE { color: #8a5a00; font-weight: bold; }
"""

_MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def _html_math(m, display):
    ml = m.as_mathml()
    mode = "block" if display else "inline"
    return f'<math xmlns="{_MATHML_NS}" display="{mode}">{ml}</math>'


def _html_parts(parts):
    def esc(s):
        return html.escape(s, quote=False)

    return render_parts(parts, text=esc, math=lambda p: _html_math(p, False),
                        link=lambda p: f'<a href="{html.escape(p.page)}.html">{html.escape(p.text)}</a>',
                        bold=lambda s: f"<strong>{esc(s)}</strong>", code=lambda s: f"<code>{esc(s)}</code>")


def _html_cell(cell, tag):
    if isinstance(cell, tuple):
        return f"<{tag}>{_html_parts(cell)}</{tag}>"
    cls = f' class="{cell}"' if cell in ("FAILED", "INCONCLUSIVE") else ""
    return f"<{tag}{cls}>{html.escape(cell, quote=False)}</{tag}>"


def render_html(page):
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(_title_plain(page.title))}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{_html_parts(_title_parts(page.title))}</h1>"]
    for b in page.blocks:
        if isinstance(b, Heading):
            anchor = f' id="{html.escape(b.anchor)}"' if b.anchor else ""
            out.append(f"<h{b.level}{anchor}>{_html_parts(_title_parts(b.text))}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_html_parts(b.parts)}</p>")
        elif isinstance(b, DisplayMath):
            out.append(f'<div class="display-math">{_html_math(b.math, True)}</div>')
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


def build_report(out_dir=DEFAULT_OUT, *, seed=0, quick=False, progress=None, figures=True, claims=(),
                 registry=None, only=None):
    """Run every check and figure and write the report into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path
    seed : int
        Base seed of every check and figure (recorded on the index page), ``>= 0``.
    quick : bool
        The smaller samples of ``featavg verify --quick``.
    progress : callable, optional
        Called with 1 after each row and each figure.
    figures : bool
        Whether to make the figures (False: pages only, for tests of the printers).
    claims : sequence of str
        ``--claims`` sources whose claims are reported beside ours.
    registry : featavg._registry.Registry, optional
        Instead of discovering (tests).
    only : sequence of str, optional
        Report only these claims (ids or prefixes, as ``featavg verify --only``): their pages,
        rows and figures, and an index of them.

    Returns
    -------
    dict
        ``out_dir``, ``files``, ``figures`` (id, file, title, error), ``checks``, ``passed``,
        ``failed``, ``inconclusive``, ``seconds``.
    """
    from featavg import _verify
    from featavg._figures import make_figures
    from featavg._registry import discover

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter("seed", seed, "an integer >= 0")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InvalidParameter("out", out_dir, "a directory (existing or new), not a file")
    reg = registry if registry is not None else discover(claims)
    start = time.perf_counter()
    units, unknown = _verify.select(reg, only)
    if unknown:
        raise InvalidParameter("only", " ".join(unknown), "claim or check ids or prefixes: " + " ".join(reg.ids()))
    entries = [e for e, _, _ in units]
    ctx = _verify.VerifyContext(quick=quick, seed=int(seed), registry=reg)
    rows = [_verify.load_error_row(e) for e in reg.errors] + _verify.run_checks(units, ctx, progress=progress)
    figs = []
    if figures:
        with _verify.one_blas_thread():  # as the rows: the figures do not depend on the core count
            figs = make_figures(out_dir, [f for e in entries for f in e.figures], ctx, progress=progress)
    good = []
    for e in entries:
        try:
            good.append(e.claim())
        except Exception:  # its symbolic row reports the failure; no page without a statement
            pass
    load_errors = [r for r in rows if r.get("kind") == "load"]
    sources = {e.id: e.source for e in reg if not e.builtin}
    ok_ids = {c.id for c in good}
    page_rows = [r for r in rows if r.get("kind") != "load" and r.get("claim") in ok_ids]
    pages = render_pages(good, page_rows, figs, seed=int(seed), quick=quick, sources=sources, load_errors=load_errors)
    from featavg._report_latex import write_latex

    tex = write_latex(out_dir, good, page_rows, figs, seed=int(seed), quick=quick)
    files = write_pages(out_dir, pages, [f.file for f in figs if not f.error] + [tex])
    return {"out_dir": out_dir, "files": files, "pages": len(pages),
            "figures": [{"id": f.id, "file": f.file, "title": f.title, "error": f.error} for f in figs],
            "checks": len(rows), "passed": sum(r["status"] == "passed" for r in rows),
            "failed": [r["id"] for r in rows if r["status"] == "failed"] + [f.id for f in figs if f.error],
            "inconclusive": [r["id"] for r in rows if r["status"] == "inconclusive"],
            "seed": int(seed), "quick": bool(quick), "seconds": time.perf_counter() - start}


def count_units(registry=None, figures=True, only=None):
    """Progress-bar units of :func:`build_report`: one per row and per figure."""
    from featavg import _verify
    from featavg._registry import default_registry

    reg = registry if registry is not None else default_registry()
    units, _ = _verify.select(reg, only)
    return _verify.count_rows(units) + (sum(len(e.figures) for e, _, _ in units) if figures else 0)
