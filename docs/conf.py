"""Sphinx configuration of featavg's API reference (built by docs/build.sh; CI builds it with -W).

The pages are the science document (science.md), the walkthrough of a user's claim (the README's
section, included), and the API reference generated from the docstrings (autodoc + numpydoc).
Mathematics is rendered at build time by LaTeX into SVG images (sphinx.ext.imgmath with dvisvgm),
so the built pages read offline from disk: no script is fetched from the network.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "featavg"
author = "the featavg developers"
copyright = "2026, the featavg developers"
from featavg import __version__ as release  # noqa: E402

version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.imgmath",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "build"]
root_doc = "index"

# MyST: $...$ and ```math fences as in GitHub-flavoured Markdown
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_fence_as_directive = ["math"]
myst_heading_anchors = 3

# mathematics rendered to SVG at build time: offline pages. docs/tex holds a stand-in for the one
# package Sphinx's formula template loads that Debian's texlive-latex-base lacks (anyfontsize)
os.environ["TEXINPUTS"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tex") + os.pathsep + \
    os.environ.get("TEXINPUTS", "")
imgmath_image_format = "svg"
imgmath_font_size = 12
imgmath_latex_preamble = r"\usepackage{amsmath,amssymb}"
imgmath_embed = True

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_static_path = []
html_show_sourcelink = False
