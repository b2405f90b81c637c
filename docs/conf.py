"""Sphinx configuration of featavg's API reference (built by docs/build.sh; CI builds it with -W).

The pages are the science document (science.md), the walkthrough of a user's claim (the README's
section, included), and the API reference generated from the docstrings (autodoc + numpydoc).
Mathematics is converted at build time from LaTeX to presentation MathML (docs/_ext/mathml_math.py,
with latex2mathml), which browsers render natively: the built pages read offline from disk, no script
is fetched from the network, and no TeX run per formula is needed (imgmath took about 0.17 s each,
two minutes for the ~700 formulas).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "featavg"
author = "the featavg developers"
copyright = "2026, the featavg developers"
from featavg import __version__ as release  # noqa: E402

version = release

extensions = [
    "sphinx.ext.autodoc",
    "mathml_math",
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

html_math_renderer = "mathml"

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_static_path = []
html_show_sourcelink = False
