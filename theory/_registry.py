"""The list of claims, in the order ``featavg claims`` prints them (built on first access)."""

from featavg.theory import _dynamics, _gradients, _robustness

__all__ = ["build_claims", "CLAIM_BUILDERS"]

#: builders of the claims, in SPEC §2 order
CLAIM_BUILDERS = (
    _gradients.model_gradients_claim,
    _robustness.averaging_radius_claim,
    _robustness.noise_correction_claim,
    _robustness.threshold_net_claim,
    _robustness.optimal_bound_claim,
    _robustness.readouts_claim,
    _robustness.mixed_labels_claim,
    _dynamics.early_gradient_claim,
    _dynamics.cross_entropy_decoupling_claim,
    _dynamics.margin_ode_claim,
    _dynamics.equal_margins_attract_claim,
    _dynamics.lambert_w_claim,
    _dynamics.gd_step_claim,
    _dynamics.ce_margin_ode_claim,
)


def build_claims():
    """Construct every claim (a few seconds of SymPy)."""
    return [build() for build in CLAIM_BUILDERS]
