"""featavg: check the theory of feature averaging in derivations and exact simulations.

``featavg.theory`` holds the SymPy derivations, ``featavg.simulate`` the NumPy simulator; this
package joins them (claims checked against simulations, reports, the CLI).
"""

__version__ = "0.1.0"
