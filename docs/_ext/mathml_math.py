"""Sphinx math renderer: LaTeX to presentation MathML at build time (latex2mathml).

The pages then carry their mathematics as MathML, which browsers render natively (as the
derivation report does): no script, no network, no TeX run per formula. A formula latex2mathml
cannot convert is a build warning naming it (an error under ``-W``), never a silent gap.
"""

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _mathml(self, node, latex, display):
    from latex2mathml.converter import convert

    try:
        return convert(latex, display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - reported as a warning with the formula
        logger.warning("mathml_math: cannot convert %r: %s", latex, exc, location=node)
        return f"<code>{self.encode(latex)}</code>"


def visit_math(self, node):
    self.body.append(_mathml(self, node, node.astext(), False))
    raise nodes.SkipNode


def visit_displaymath(self, node):
    latex = node.astext()
    if node.get("nowrap"):
        body = latex
    else:
        parts = [p for p in latex.split("\n\n") if p.strip()]
        body = "\n".join(_mathml(self, node, p, True) for p in parts)
    self.body.append(f'<div class="math">{body}</div>')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
