r"""A user's claim: the averaging radius does not depend on how unbalanced the partition is.

This file is a complete claim module, written the way a researcher would write one for their own
theorem, and run beside featavg's claims with::

    featavg verify --claims examples/unbalanced_radius.py --only U1
    featavg report --claims examples/unbalanced_radius.py --out /tmp/report

The claim. Take ``|J+| = p`` of ``k`` clusters, not necessarily ``k/2``. After binary training the
two neuron groups are averaged, :math:`w_\pm = \alpha_\pm \sum_{J_\pm}\mu_j`, and in the late phase
both classes' margins follow the same equal-margin ODE (C7.lambert_w) with constants
:math:`C_\pm = (d + |J_\pm|)/(mk)` that differ only by a relative :math:`(2p - k)/(d + k - p)`: so
:math:`\alpha_+ = \alpha_-` up to :math:`O(k/d)`. With equal scales and no biases, the distance of
:math:`\mu_j` to the hyperplane :math:`\{z_+ = z_-\}` is

.. math:: \frac{\alpha d}{\sqrt{\alpha^2 p d + \alpha^2 (k - p) d}} = \sqrt{d/k}

for every ``p``, while switching the own group off costs :math:`\sqrt{d/p}` (or :math:`\sqrt{d/(k-p)}`),
more. The prediction: points of both classes have median radius :math:`\sqrt{d/k}`, however
unbalanced the partition. The nearest plausible wrong theory says the radius follows the point's
own class size, :math:`\sqrt{d/(2|J_y|)}` (the balanced formula with ``k/2`` replaced by ``|J_y|``):
at ``k = 10, p = 2`` it predicts 27.7 for ``J+`` and 13.9 for ``J-`` instead of 17.5 for both.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, mean_interval
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation

ID = "U1.unbalanced_radius"

d, k, p, alpha, m = sp.symbols("d k p alpha m", positive=True)


def derive():
    """The claim's SymPy half: statement, derivation steps, predictions (no simulator here)."""
    hyperplane = alpha * d / sp.sqrt(alpha ** 2 * p * d + alpha ** 2 * (k - p) * d)
    switch_off = alpha * d / (alpha * sp.sqrt(p * d))
    c_plus, c_minus = (d + p) / (m * k), (d + k - p) / (m * k)
    r = notation("r")
    steps = (
        Step("equal scales, no biases: the hyperplane distance is sqrt(d/k) for every |J+| = p",
             sp.Eq(hyperplane, sp.sqrt(d / k), evaluate=False), lambda: is_zero(hyperplane - sp.sqrt(d / k))),
        Step("switching the own group off costs sqrt(d/p) >= sqrt(d/k), since p <= k",
             sp.Eq(switch_off, sp.sqrt(d / p), evaluate=False),
             lambda: is_zero(switch_off - sp.sqrt(d / p))
             and bool(sp.simplify((switch_off ** 2 - d / k).subs(k, p + sp.Symbol("K", positive=True))).is_positive)),
        Step("the classes' late-phase constants differ by a relative (2p - k)/(d + k - p): equal scales to O(k/d)",
             sp.Eq(c_plus / c_minus - 1, (2 * p - k) / (d + k - p), evaluate=False),
             lambda: is_zero(c_plus / c_minus - 1 - (2 * p - k) / (d + k - p))),
    )
    return Claim(
        id=ID, title="The averaging radius is sqrt(d/k) for every partition |J+| = p",
        statement=sp.Eq(r(sp.Symbol("mu_j")), sp.sqrt(d / k)),
        assumptions="Averaged neurons with equal scales (the late-phase margins of both classes grow alike) and "
                    "no biases; noise-free point; the finite-n noise share k/n is neglected.",
        regime="binary labels, any partition 1 <= p <= k - 1, d >> n",
        steps=steps,
        predictions={"radius": lambdify_prediction([d, k], sp.sqrt(d / k), "sqrt(d/k), whatever |J+|"),
                     "rival_own_class": lambdify_prediction([d, p], sp.sqrt(d / (2 * p)),
                                                            "sqrt(d/(2 |J_y|)): the radius following the class size")})


# ---- evidence: trained nets on an unbalanced partition --------------------------------------

def _measure(ctx):
    from featavg.simulate import Config

    seeds = ctx.seeds(4 if ctx.quick else 6)
    points = 30 if ctx.quick else 40
    k_, positive, d_, n_ = 10, 2, 3072, 1000
    per_class = {1: [], -1: []}
    for s in seeds:
        run = ctx.run(Config(k=k_, positive=positive, d=d_, n=n_, n_test=200, m=5, eta=1e-3, steps=100,
                             init_scale=1e-5, seed=s, engine="reduced"))
        r = ctx.radii(run, points=2 * points)
        for cls in (1, -1):
            per_class[cls].append(float(np.median(r[run.test.y[:2 * points] == cls])))
    stats = [mean_interval(per_class[c]) for c in (1, -1)]
    measured = np.array([s[0] for s in stats])
    halfwidth = np.array([s[2] for s in stats])
    radius = ctx.prediction(ID, "radius")
    own = ctx.prediction(ID, "rival_own_class")
    predicted = np.full(2, float(radius(d_, k_)))
    band = Band(predicted, (
        Term(f"t({len(seeds) - 1} dof) x standard error of the mean of {len(seeds)} seed medians per class", halfwidth,
             "stat"),
        Term("neglected finite-n correction: the noise share k/n of the weights, relative", k_ / n_ * predicted),
    ))
    return Outcome(predicted, measured, band, interval=(measured - halfwidth, measured + halfwidth), seeds=seeds,
                   rivals={"sqrt(d/(2|J_y|))": np.array([float(own(d_, positive)), float(own(d_, k_ - positive))])},
                   details={"classes": ["J+ (p = 2)", "J- (k - p = 8)"], "per_seed_medians": per_class},
                   config={"k": k_, "positive": positive, "d": d_, "n": n_, "m": 5, "points_per_seed": 2 * points})


TRAINED = Check(
    "U1.unbalanced_radius", "Trained binary nets with |J+| = 2 of 10: median radius of each class vs sqrt(d/k)",
    "binary labels, k=10, |J+|=2, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5, reduced engine, several seeds",
    _measure, rivals=(Rival("sqrt(d/(2|J_y|))", "the radius set by the point's own class size"),),
    faults=("closed_form", "decouple"))
