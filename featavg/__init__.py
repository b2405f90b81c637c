"""featavg: check the theory of feature averaging in derivations and exact simulations.

``featavg.theory`` holds the SymPy side of the claims, ``featavg.simulate`` the NumPy simulator;
this package joins them: the claim modules (:mod:`featavg.claims`, one module per claim with its
statement, derivation, predictions and evidence), their discovery, ``featavg verify`` and
``featavg report``, and the CLI. The science is ``docs/science.md``.

The registry is built on first use, so ``import featavg`` stays fast::

    >>> import featavg
    >>> featavg.claim_ids()[:2]
    ['C1.model_gradients', 'C1.feature_averaging']
"""

__version__ = "0.2.0"

__all__ = ["__version__", "get_claim", "all_claims", "claim_ids", "discover"]


def get_claim(claim_id):
    """The SymPy claim ``claim_id`` (a :class:`featavg.theory.Claim`); :class:`featavg.UnknownClaim` if none."""
    from featavg._registry import get_claim as get

    return get(claim_id)


def all_claims():
    """Every built-in claim's SymPy half, in order."""
    from featavg._registry import all_claims as every

    return every()


def claim_ids():
    """The ids of the built-in claims, in order (no SymPy is built)."""
    from featavg._registry import claim_ids as ids

    return ids()


def discover(sources=()):
    """The built-in claims plus those of ``sources`` (files, directories or module names)."""
    from featavg._registry import discover as find

    return find(sources)


_ERRORS = ("FeatavgError", "UsageError", "InvalidParameter", "RunFileError", "UnknownClaim", "ClaimFileError", "OutsideRegime",
           "ClaimDefinitionError", "NumericalError")


def __getattr__(name):  # the error classes, without importing them eagerly
    if name in _ERRORS:
        import importlib

        return getattr(importlib.import_module("featavg._errors"), name)
    raise AttributeError(f"module 'featavg' has no attribute {name!r}")
