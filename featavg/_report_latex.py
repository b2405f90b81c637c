r"""The derivation report as a LaTeX appendix (``derivations/report.tex``), written by ``featavg report``.

One section per claim: its statement, assumptions and regime, every derivation step with its
machine-check verdict and generality, the lambdified predictions, the numeric checks of
``featavg verify`` (predicted, measured, band, rivals, verdict) and the claim's figures. The
mathematics is printed by SymPy's LaTeX printer (``sympy.latex``) from the same expressions the
Markdown and HTML pages print (:mod:`featavg._report`), so the three cannot disagree; prose that
carries mathematics (:class:`featavg.theory.Text`) is typeset inline. The document uses only
``amsmath``, ``amssymb``, ``graphicx``, ``geometry``, ``longtable`` and ``booktabs`` (Debian's
``texlive-latex-base`` and ``texlive-latex-recommended``) and compiles with::

    cd derivations && pdflatex -interaction=nonstopmode -halt-on-error report.tex

(twice for the table of contents). Display mathematics wider than the text is scaled down to the
line width (``\fitmath``), never cut off. Like the other pages it holds nothing time- or
machine-dependent: the same seed writes the same file.
"""

import os
import re

__all__ = ["LATEX_NAME", "render_latex", "write_latex", "latex_text"]

LATEX_NAME = "report.tex"

_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{longtable,booktabs,array}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5ex plus 0.2ex}
\setcounter{tocdepth}{1}
\allowdisplaybreaks
% display mathematics at its natural size, or scaled down to the line if wider
\newcommand{\fitmath}[1]{\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{$\displaystyle #1$}}
% a ragged-right column taking #1 of the line, less its share of the column separation
\newcolumntype{L}[1]{>{\raggedright\arraybackslash}p{\dimexpr #1\linewidth-2\tabcolsep\relax}}
"""

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}

#: characters outside ASCII that prose and numbers use, in LaTeX (anything else is written as U+XXXX)
_UNICODE = {"\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
            "\u2026": r"\ldots{}", "\u00a0": "~", "\u00b7": r"$\cdot$", "\u00d7": r"$\times$", "\u2264": r"$\le$",
            "\u2265": r"$\ge$", "\u2248": r"$\approx$", "\u00b1": r"$\pm$", "\u221a": r"$\surd$",
            "\u2212": "-", "\u00e9": r"\'e", "\u00e8": r"\`e", "\u00fc": r"\"u", "\u00f6": r"\"o"}


def latex_text(text):
    """Plain text escaped for LaTeX (special characters, and non-ASCII by :data:`_UNICODE`)."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(_UNICODE.get(ch, f"U+{ord(ch):04X}"))
    return "".join(out)


def _parts(parts):
    """Paragraph parts (str, Math, Link, ("b", text), ("code", text)) as LaTeX."""
    from featavg._report import render_parts

    return render_parts(parts, text=latex_text, math=lambda p: f"${p.as_latex()}$",
                        link=lambda p: latex_text(p.text), bold=lambda s: rf"\textbf{{{latex_text(s)}}}",
                        code=lambda s: rf"\texttt{{{latex_text(s)}}}")


def _cell(cell):
    """A table cell; identifiers may break after their dots and underscores."""
    text = _parts(cell) if isinstance(cell, tuple) else latex_text(cell)
    return text.replace(r"\_", r"\_\allowbreak{}") if not isinstance(cell, tuple) else text


def _display(expr):
    import sympy as sp

    return "\\[\n\\fitmath{" + sp.latex(expr) + "}\n\\]"


def _table(header, rows, widths):
    """A ``longtable`` with ragged-right columns of the given widths (fractions of the line)."""
    spec = "".join(f"L{{{w:.2f}}}" for w in widths)
    lines = [r"\begingroup\small", rf"\begin{{longtable}}{{{spec}}}", r"\toprule",
             " & ".join(rf"\textbf{{{latex_text(h)}}}" for h in header) + r" \\", r"\midrule", r"\endhead"]
    for row in rows:
        lines.append(" & ".join(_cell(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{longtable}", r"\endgroup"]
    return "\n".join(lines)


def _claim_section(claim, symbolic, checks, figures, out_dir):
    from featavg._report import _band_text, _rivals_text, _status, fmt_page, prose

    lines = [rf"\section{{{latex_text(claim.id)}: {_parts(prose(claim.title))}}}",
             r"\textbf{Statement.}", _display(claim.statement),
             rf"\textbf{{Assumptions.}} {_parts(prose(claim.assumptions))}", "",
             rf"\textbf{{Regime.}} {_parts(prose(claim.regime))}", "", r"\subsection*{Derivation}"]
    results = {s["step"]: s for s in (symbolic or {}).get("details", {}).get("steps", [])}
    n_general = sum(st.generality == "general" for st in claim.steps)
    n_ok = sum(s["passed"] for s in results.values())
    lines.append(f"{len(claim.steps)} steps, each machine-checked by SymPy; {n_ok} of {len(claim.steps)} passed; "
                 f"{n_general} general (symbolic sizes), {len(claim.steps) - n_general} instance checks at stated "
                 "sizes.")
    lines.append(r"\begin{enumerate}")
    for step in claim.steps:
        res = results.get(str(step.name))
        verdict = "not run" if res is None else _status(res["passed"])
        scope = "general" if step.generality == "general" else f"instance check: {step.instances}"
        lines.append(rf"\item {_parts(prose(step.name))} ({latex_text(verdict)}; {latex_text(scope)})")
        lines.append(_display(step.expr))
        if res is not None and res.get("error"):
            lines.append(rf"\textbf{{Error.}} \texttt{{{latex_text(res['error'])}}}")
    lines.append(r"\end{enumerate}")
    if claim.predictions:
        lines.append(r"\subsection*{Predictions}")
        lines.append("Numeric functions lambdified from the statement's expressions (never retyped).")
        rows = [(name, ((claim.predictions[name].__doc__ or "").strip().splitlines() or [""])[0])
                for name in sorted(claim.predictions)]
        lines.append(_table(("prediction", "returns"), rows, (0.28, 0.68)))
    lines.append(r"\subsection*{Numeric checks}")
    if checks:
        rows = [(r["id"], fmt_page(r["predicted"]), fmt_page(r["measured"]), _band_text(r), _rivals_text(r),
                 _status(r["status"])) for r in checks]
        lines.append(_table(("check", "predicted", "measured", "band", "rivals", "verdict"), rows,
                            (0.22, 0.14, 0.14, 0.16, 0.13, 0.17)))
        for r in checks:
            lines.append(rf"\paragraph{{{latex_text(r['id'])}}} {latex_text(r['title'])}. "
                         rf"\textit{{Regime.}} {latex_text(r.get('regime', ''))}. "
                         rf"\textit{{Band.}} {latex_text(r.get('tolerance', '-'))}.")
    else:
        lines.append("No numeric check ran.")
    for f in figures:
        if f.error or not os.path.exists(os.path.join(out_dir, f.file)):
            continue
        lines += [r"\begin{figure}[htbp]", r"\centering", rf"\includegraphics[width=0.9\linewidth]{{{f.file}}}",
                  rf"\caption{{\textbf{{{latex_text(f.title)}.}} {latex_text(f.caption)}}}", r"\end{figure}"]
    return "\n".join(lines)


def render_latex(claims, rows, figures, *, seed, quick, out_dir="."):
    """The LaTeX source of the appendix (a str).

    Parameters
    ----------
    claims : list of featavg.theory.Claim
    rows : list of dict
        :func:`featavg._verify.run_checks` rows (numeric rows and one ``<claim>.symbolic`` row per claim).
    figures : list of featavg._figures.FigureResult
        Figures whose file exists under ``out_dir`` are included.
    seed : int
    quick : bool
    out_dir : str
        The directory ``report.tex`` is written to (figure paths are relative to it).
    """
    from featavg import __version__
    from featavg._report import _claim_status, _status, prose

    symbolic = {r["claim"]: r for r in rows if r.get("kind") == "symbolic"}
    by_claim, figs_by_claim = {}, {}
    for r in rows:
        if r.get("kind") == "numeric":
            by_claim.setdefault(r["claim"], []).append(r)
    for f in figures:
        owner = f.claims[0] if f.claims else None
        figs_by_claim.setdefault(owner, []).append(f)
    n_steps = sum(len(c.steps) for c in claims)
    n_general = sum(st.generality == "general" for c in claims for st in c.steps)
    overview = []
    for c in claims:
        sym = symbolic.get(c.id)
        steps = (sym or {}).get("details", {}).get("steps", [])
        checks = by_claim.get(c.id, [])
        overview.append((c.id, prose(c.title), f"{sum(s['passed'] for s in steps)}/{len(c.steps)}",
                         f"{sum(r['status'] == 'passed' for r in checks)}/{len(checks)}",
                         _status(_claim_status(checks + ([sym] if sym else [])))))
    command = "featavg report" + (" --quick" if quick else "")
    body = [_PREAMBLE, r"\title{Feature averaging: derivations and checks}",
            rf"\author{{\texttt{{featavg}} {latex_text(__version__)}}}", r"\date{}", r"\begin{document}", r"\maketitle",
            "This appendix states each claim of the theory of feature averaging (Li, Pan, Lyu, Li, ICLR 2025) with "
            "its derivation steps, machine-checked by SymPy, and the numeric checks that test it against exact "
            f"simulations. {n_steps} steps, {n_general} of them general (checked for symbolic sizes). Written by "
            rf"\texttt{{{latex_text(command)}}} with seed {int(seed)}; do not edit, regenerate.",
            r"\tableofcontents",
            r"\section*{Claims}",
            _table(("claim", "title", "steps passed", "numeric checks passed", "verdict"), overview,
                   (0.22, 0.42, 0.09, 0.11, 0.16))]
    for c in claims:
        body.append(_claim_section(c, symbolic.get(c.id), by_claim.get(c.id, []), figs_by_claim.get(c.id, []),
                                   out_dir))
    body.append(r"\end{document}")
    text = "\n\n".join(body) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def write_latex(out_dir, claims, rows, figures, *, seed, quick):
    """Write ``report.tex`` into ``out_dir``; returns its name (relative to ``out_dir``)."""
    from featavg._report import _write_text

    os.makedirs(out_dir, exist_ok=True)
    _write_text(os.path.join(out_dir, LATEX_NAME),
                render_latex(claims, rows, figures, seed=seed, quick=quick, out_dir=out_dir))
    return LATEX_NAME
