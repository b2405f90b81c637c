r"""V5.unbalanced: with |J+| != |J-| the trained binary net's radius is still sqrt(d/k), for both classes.

Data variant (issue 18): an unbalanced partition (:class:`featavg.simulate.Config` ``positive``;
``p = |J_+|``, ``K = |J_-| = k - p``).

Claim. In C7's late phase each class's margins obey :math:`\dot q = C_s g(q)` with
:math:`C_s = (d + |J_s|)/(mk)` (C7.margin_ode): the two rates differ by a relative
:math:`(K - p)/d`, so both classes' neurons reach the same scale, :math:`\alpha_+ = \alpha_-` to that
order. C3's formula with equal scales and no biases is then the same for every partition,

.. math:: r(\mu_j) = \frac{\alpha d}{\alpha\sqrt{pd + Kd}} = \sqrt{d/k}\qquad (j \in J_+ \text{ or } J_-),

while the switch-off branch costs :math:`\sqrt{d/|J_y|} \ge \sqrt{d/k}`. The nearest wrong answer is the
balanced formula with ``k`` replaced by ``2|J_y|``, :math:`\sqrt{d/(2|J_y|)}` (different for the two
classes). Unbalanced partitions change the *sum* readout of the multi-class net (C5.readouts:
:math:`\sqrt{d/(1 + |J_{-y}|)}`, per class) but not the averaging radius.

Evidence: trained binary nets at ``|J+| = 3`` of ``k = 10``: each class's median exact test radius
against C3.averaging_radius's trained-net model with each net's measured coefficients (per class).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term
from featavg.theory import Claim, Step, Text, is_zero, lambdify_prediction, notation
from featavg.theory._common import K, d, is_nonnegative, k, m, p, sqrt_as_written

ID = "V5.unbalanced"
ORDER = (10, 4)

POSITIVE = 3
alpha = sp.Symbol("alpha", positive=True)
HYPER = alpha * d / sp.sqrt(alpha ** 2 * p * d + alpha ** 2 * K * d)  # C3's hyperplane branch, equal scales, no biases
SWITCH = alpha * d / (alpha * sp.sqrt(p * d))


def _equal(a, b):
    """``a == b`` by :func:`featavg.theory.is_zero`."""
    return is_zero(a - b)


def derive():
    """Equal margin rates, hence equal scales; C3's formula is sqrt(d/k) for every partition, for both classes."""
    from featavg.claims.c3_averaging_radius import HYPERPLANE, SWITCH_OFF, alpha_m, alpha_p, b_m, b_p

    equal = {alpha_p: alpha, alpha_m: alpha, b_p: 0, b_m: 0}  # equal scales, no biases

    def c3(expr, own):
        # C3.averaging_radius's branch at a centre whose class has |J_y| = own clusters (its p is the own class's size)
        return expr.subs(equal).subs(p, own)

    C_p, C_m = sp.Symbol("C_+"), sp.Symbol("C_-")

    def rates(st):
        # C_s = (d + |J_s|)/(mk) (C7.margin_ode), k = p + K; the relative difference is of order (p - K)/d
        Cp, Cm = (d + p) / (m * (p + K)), (d + K) / (m * (p + K))
        return _equal(Cp / Cm - 1, st.rhs) and sp.limit((Cp / Cm - 1) * d, d, sp.oo) == p - K

    def radius(st):
        # the hyperplane branch at a centre of J_+ (own size p) and of J_- (own size k - p)
        return _equal(c3(HYPERPLANE, p), st.rhs) and _equal(c3(HYPERPLANE, k - p), st.rhs)

    def switch_costlier(st):
        # (switch-off / hyperplane)^2 = k/|J_y| >= 1, for J_+ (|J_y| = p, k = p + K)
        ratio = sp.simplify((c3(SWITCH_OFF, p) / c3(HYPERPLANE, p)) ** 2).subs(k, p + K)
        return _equal(ratio, st.rhs) and is_nonnegative(sp.simplify(ratio - 1))

    J_p, J_m, J_y = sp.Symbol("J_+"), sp.Symbol("J_-"), sp.Symbol("J_y")
    order = notation("O")((p - K) / d)
    steps = (
        Step(Text("late-phase rates ", sp.Eq(sp.Symbol("C_s"), (d + sp.Abs(sp.Symbol("J_s"))) / (m * k), evaluate=False),
                  ": ", sp.Eq(C_p / C_m - 1, (p - K) / (d + K), evaluate=False), ", so the scales agree to ", order),
             sp.Eq(C_p / C_m - 1, (p - K) / (d + K), evaluate=False), rates),
        Step(Text("equal scales, no biases: the hyperplane branch is ", sqrt_as_written(d / k), " for any ",
                  sp.Eq(sp.Abs(J_p), p, evaluate=False), " (", sp.Eq(k, p + K, evaluate=False), "), at centres of ",
                  J_p, " and of ", J_m),
             sp.Eq(HYPER.subs(K, k - p), sqrt_as_written(d / k), evaluate=False), radius),
        Step(Text("switching the own neuron off costs ", sqrt_as_written(d / sp.Abs(J_y)), ": ", k / sp.Abs(J_y),
                  " times the hyperplane's square, never cheaper"),
             sp.Eq(SWITCH ** 2 / HYPER ** 2, (p + K) / p, evaluate=False), switch_costlier),
    )
    preds = {"radius": lambdify_prediction([d, k], sp.sqrt(d / k), "sqrt(d/k), both classes"),
             "balanced_rival": lambdify_prediction([d, p], sp.sqrt(d / (2 * p)), "sqrt(d/(2|J_y|)): the balanced formula with k = 2|J_y|")}
    return Claim(
        id=ID, title=Text("Unbalanced partition: the averaging radius is ", sqrt_as_written(d / k), " for both classes"),
        statement=sp.Eq(notation("r")(sp.Symbol("mu_j")), sqrt_as_written(d / k), evaluate=False),
        assumptions=Text("Orthogonal equinorm features; ", sp.Eq(sp.Abs(J_p), p, evaluate=False), ", ",
                         sp.Eq(sp.Abs(J_m), K, evaluate=False), " with ", sp.Eq(K, k - p, evaluate=False),
                         "; trained binary net in C7's late regime (equal margins in each class, rates equal to ",
                         order, ")."),
        regime="noise-free centres for the formula; trained nets via C3's trained model (measured coefficients)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _sizes(ctx):
    return (3, 40) if ctx.quick else (6, 50)


def _measure(ctx):
    from featavg.claims._trained import pooled_median
    from featavg.claims.c3_averaging_radius import trained_binary_model

    R, N = _sizes(ctx)
    runs = ctx.paper_runs("binary", R, positive=POSITIVE)
    cfg = runs[0].config
    mix = ctx.prediction("C3.averaging_radius", "mixture_median")
    pred, meas, lo, hi, terms_stat, cls_info = [], [], [], [], [], []
    models = [trained_binary_model(ctx, run, N) for run in runs]
    worst = {key: max(x[key] for x in models) for key in ("noise", "spread")}
    switch = []
    for s in (1, -1):
        radii, meds, dens = [], [], []
        for run, mdl in zip(runs, models):
            lab = run.cluster_labels
            y = run.test.y[:N]
            r = ctx.radii(run, points=N)
            radii.append(r[y == s])
            med_s, dens_s = mix(np.asarray(mdl["centres"])[lab == s])
            meds.append(med_s)
            dens.append(dens_s)
            switch.append(mdl["switch"] * mdl["density"] / dens_s)  # max switch probability / the class's density
        pooled = pooled_median(radii, meds, dens)
        pred.append(pooled["predicted"])
        meas.append(pooled["measured"])
        lo.append(pooled["interval"][0])
        hi.append(pooled["interval"][1])
        terms_stat.append(pooled["stat_term"].value)
        cls_info.append({"class": s, "points": pooled["points"], "per_seed_median": pooled["per_seed_median"],
                         "per_seed_predicted": pooled["per_seed_predicted"]})
    pred, meas = np.array(pred), np.array(meas)
    from featavg.claims._late import bonferroni_z
    from featavg.evidence import quantile

    z2 = bonferroni_z(2)
    stat = np.array(terms_stat) / quantile() * z2
    band = Band(pred, (Term(f"z = {z2:.3g} (Bonferroni over the 2 classes) x standard error 1/(2 sqrt(N) g) of each class's "
                            "pooled median of r_i - P_s (g: the predicted density at the class's median)", stat, "stat"),
                       Term("C3's bound on the predicted noise share's error (max over seeds)", worst["noise"]),
                       Term("C3's bound for neurons of one sign that differ (max over seeds)", worst["spread"]),
                       Term("switch-off branch: max over clusters of its probability / the class's density", max(switch))))
    base = float(ctx.prediction(ID, "radius")(cfg.d, cfg.k))
    rival = ctx.prediction(ID, "balanced_rival")
    return Outcome(pred, meas, band, interval=(np.array(lo), np.array(hi)), seeds=[r.config.seed for r in runs],
                   baseline=np.full(2, base),
                   rivals={"sqrt(d/(2|J_y|)) (the balanced formula with k = 2|J_y|)":
                               np.array([float(rival(cfg.d, POSITIVE)), float(rival(cfg.d, cfg.k - POSITIVE))]),
                           "sqrt(d/|J_y|) (the switch-off branch)": np.sqrt(cfg.d / np.array([POSITIVE, cfg.k - POSITIVE]))},
                   details={"classes": cls_info, "components": ["J+ (|J+| = 3)", "J- (|J-| = 7)"], "points_per_seed": N},
                   config={"run": cfg.to_dict()})


TRAINED = Check(
    "V5.unbalanced", "Unbalanced partition (|J+| = 3, |J-| = 7): each class's median exact radius vs C3's trained model "
    "(both near sqrt(d/k))",
    "binary labels, paper setting with positive=3 (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5), reduced "
    "engine; exact radii of 50 test points per seed, 6 seeds (quick 3 x 40), split by class. Prediction from each net's "
    "measured coefficients (C3.averaging_radius's trained model, per class); baseline sqrt(d/k) from the sizes alone",
    _measure,
    rivals=(Rival("sqrt(d/(2|J_y|)) (the balanced formula with k = 2|J_y|)", "the balanced formula applied class by class"),
            Rival("sqrt(d/|J_y|) (the switch-off branch)", "the other branch of C3's minimum")),
    faults=("closed_form", "decouple"))


# ---- figure -------------------------------------------------------------------------------------------

def _per_class(ctx):
    from featavg._figures import BLUE, RED, new_figure
    from featavg.simulate import robust_accuracy

    R, N = _sizes(ctx)
    runs = ctx.paper_runs("binary", R, positive=POSITIVE)
    cfg = runs[0].config
    grid = np.linspace(0, 1.6 * np.sqrt(cfg.d / cfg.k), 300)
    fig = new_figure((8.0, 4.8))
    ax = fig.subplots()
    data = {"seed": ctx.seed, "points_per_seed": N, "seeds": [r.config.seed for r in runs]}
    rival = ctx.prediction(ID, "balanced_rival")
    for s, col, size in ((1, BLUE, POSITIVE), (-1, RED, cfg.k - POSITIVE)):
        r = np.concatenate([ctx.radii(run, points=N)[run.test.y[:N] == s] for run in runs])
        ax.step(grid, robust_accuracy(r, grid), where="post", color=col, lw=2,
                label=f"class {'+' if s > 0 else '-'} (|J_y| = {size}): median {np.median(r):.2f}, {r.size} points")
        ax.axvline(float(rival(cfg.d, size)), color=col, ls=":", lw=1, label=f"sqrt(d/(2|J_y|)) = {float(rival(cfg.d, size)):.2f} (rival)")
        data[f"median_class_{'plus' if s > 0 else 'minus'}"] = float(np.median(r))
    ax.axvline(float(ctx.prediction(ID, "radius")(cfg.d, cfg.k)), color="black", ls="--", lw=1.2, label="sqrt(d/k) (both classes)")
    ax.set_xlabel(r"perturbation radius $\delta$ ($\ell_2$)")
    ax.set_ylabel("robust accuracy (exact radii)")
    ax.legend(fontsize=7)
    ax.set_title(f"Unbalanced partition |J+| = {POSITIVE}, |J-| = {cfg.k - POSITIVE} (k={cfg.k}, d={cfg.d}, {R} seeds)", fontsize=9)
    caption = (f"Robust accuracy of each class of binary nets trained on an unbalanced partition (|J+| = {POSITIVE} of k = "
               f"{cfg.k}; paper setting otherwise, seeds {data['seeds']}). Both classes drop at sqrt(d/k) = "
               f"{float(np.sqrt(cfg.d / cfg.k)):.2f} (medians {data['median_class_plus']:.2f} and {data['median_class_minus']:.2f}), "
               "not at the balanced formula's sqrt(d/(2|J_y|)).")
    return fig, caption, data


PER_CLASS = Figure("unbalanced_robust_accuracy", "Unbalanced partition: robust accuracy of each class", _per_class)
