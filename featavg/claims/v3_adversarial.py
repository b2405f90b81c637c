r"""V3.adversarial: adversarial training of the binary net (measured finding, not a theorem).

Question (issue 18; docs/science.md §7): does adversarial training produce decoupling? The binary
net (``m = |J_s|`` neurons per sign, so that one neuron per feature is representable, C4.threshold_net)
is trained by GD on the loss at adversarially perturbed inputs (Madry et al. 2018, arXiv 1706.06083):
the inner maximisation is PGD-L2 at radius :math:`\varepsilon` (:func:`featavg.simulate.adversarial_training`,
``inner="pgd"``), or, in the report's figure, the certified nearest-boundary perturbation of the exact
radius rescaled to :math:`\varepsilon` (``inner="exact"``).

What is measured (no theorem predicts it): at :math:`\varepsilon = 0.9\sqrt{d/2}` the trained net
*decouples*: each neuron holds one feature of its class (cosine about 0.85-0.9, about -0.15 on every
other feature: the negative cross components act as the thresholds of C4.threshold_net), the
averaging score falls from 0.99 to about 0.1, and the median exact test radius rises from
:math:`\sqrt{d/k}` to about :math:`0.85\text{-}0.9\sqrt{d/2}`, near the optimum. At intermediate radii
(:math:`\varepsilon \approx 0.5\text{-}0.65\sqrt{d/2}` at the paper's sizes) it collapses instead into
neurons that detect the *absence* of the other class's features (cosines near 0 with their own class,
about -0.4 with the other) with small margins (figure).

The theorems the checks use are upper bounds that hold for any network, so the rows are one-sided:

* the population median of any classifier's radius is at most :math:`\sqrt{d/2}` (C4.optimal_bound:
  robust accuracy at :math:`\delta` is at most :math:`\Phi(\sqrt{d/2} - \delta)`, which is 1/2 at
  :math:`\delta = \sqrt{d/2}`);
* a neuron :math:`w = w_0 + \sum_i \beta_i x_i` built from the points of cluster ``j`` has
  :math:`\cos(w, \mu_j) \le 1/\sqrt{1 + 1/n_j}` to leading order (Cauchy-Schwarz on the weights:
  its noise part has :math:`\|\sum_{i \in j}\beta_i\xi_i\|^2 \approx d\sum\beta_i^2 \ge d(\sum\beta_i)^2/n_j`;
  C5.decoupling).

Each row rejects the rival "no effect" (the standard net's measured value on the same data) and the
averaging theory's value only if the adversarially trained net lies above them by more than its
confidence interval: that is the finding.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import Phi, d, delta

ID = "V3.adversarial"
ORDER = (10, 2)

n_j = sp.Symbol("n_j", positive=True)
MEDIAN_BOUND = sp.sqrt(d / 2)
COS_BOUND = 1 / sp.sqrt(1 + 1 / n_j)


def derive():
    """The two upper bounds the one-sided rows use (the finding itself is measured)."""
    b = sp.symbols("beta_1:4", real=True)

    def median():
        # Phi(sqrt(d/2) - delta) = 1/2 at delta = sqrt(d/2): robust accuracy <= 1/2 there, so P(r > sqrt(d/2)) <= 1/2
        return is_zero(Phi(MEDIAN_BOUND - delta).subs(delta, MEDIAN_BOUND) - sp.Rational(1, 2)) and \
            bool(sp.simplify(sp.diff(Phi(MEDIAN_BOUND - delta), delta)).is_negative)

    def cauchy_schwarz():
        # n sum beta^2 - (sum beta)^2 = sum_{i<l} (beta_i - beta_l)^2 >= 0 (n = 3); then the noise share
        # ||sum beta_i xi_i||^2 / (sum beta_i)^2 d >= 1/n_j and cos = 1/sqrt(1 + share)
        lhs = 3 * sum(x ** 2 for x in b) - sum(b) ** 2
        share = sp.Symbol("s", positive=True)
        cos = 1 / sp.sqrt(1 + share)
        return (is_zero(lhs - sum((b[u] - b[w]) ** 2 for u in range(3) for w in range(u + 1, 3)))
                and bool(sp.simplify(sp.diff(cos, share)).is_negative) and is_zero(cos.subs(share, 1 / n_j) - COS_BOUND))

    r = sp.Symbol("r")
    steps = (
        Step("any classifier: robust accuracy at delta <= Phi(sqrt(d/2) - delta) (C4.optimal_bound), = 1/2 at "
             "delta = sqrt(d/2): the population median radius is at most sqrt(d/2)",
             sp.Le(notation("median")(r), MEDIAN_BOUND, evaluate=False), median),
        Step("a neuron built from cluster j's n_j points: noise share >= 1/n_j (Cauchy-Schwarz), so "
             "cos(w, mu_j) <= 1/sqrt(1 + 1/n_j) to leading order",
             sp.Le(notation("cos")(sp.Symbol("w"), sp.Symbol("mu_j")), COS_BOUND, evaluate=False), cauchy_schwarz,
             generality="instance", instances="Cauchy-Schwarz identity at n = 3; the monotonicity in the share general"),
    )
    preds = {"median_radius_bound": lambdify_prediction([d], MEDIAN_BOUND, "sqrt(d/2): bound on any classifier's median radius"),
             "cosine_bound": lambdify_prediction([n_j], COS_BOUND, "1/sqrt(1 + 1/n_j): bound on cos(w, mu_j)")}
    return Claim(
        id=ID, title="Measured finding, not a theorem: PGD adversarial training at eps = 0.9 sqrt(d/2) decouples the "
                     "binary net and lifts its radius from sqrt(d/k) towards sqrt(d/2)",
        statement=sp.Le(notation("median")(r), MEDIAN_BOUND, evaluate=False),
        assumptions="Measured finding, not a theorem. Binary net with m = |J_s| neurons per sign, binary labels, GD on "
                    "the logistic loss at PGD-L2 perturbed inputs (10 steps, step 2.5 eps/10, random start in the "
                    "weights' span); the bounds used by the checks hold for any network.",
        regime="k=10, d=3072, reduced engine; eps = 0.9 sqrt(d/2); the findings at other eps are in the figures",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: the training radius over sqrt(d/2), and the training run (learning rate, steps, data size)
EPS_RATIO = 0.9
ADV = {"eta": 1e-2, "steps": 200, "n": 500}


def configs(ctx, seed=None):
    """(standard config, adversarial config): the same data (seed, n); the standard net at the paper's eta, T."""
    std = ctx.paper_config("binary", seed, n=ADV["n"])
    import dataclasses

    return std, dataclasses.replace(std, eta=ADV["eta"], steps=ADV["steps"])


def adversarial_run(ctx, config, eps, inner="pgd", every=20, **kw):
    """:func:`featavg.simulate.adversarial_training`, cached in ``ctx.cache``."""
    from featavg.simulate import adversarial_training

    key = (ID, config, float(eps), inner, every, tuple(sorted(kw.items())))
    if key not in ctx.cache:
        ctx.cache[key] = adversarial_training(config, eps, inner=inner, every=every, **kw)
    return ctx.cache[key]


def _points(ctx):
    return 60 if ctx.quick else 120


def _nets(ctx):
    std_cfg, adv_cfg = configs(ctx)
    std = ctx.run(std_cfg)
    eps = EPS_RATIO * float(np.sqrt(adv_cfg.d / 2))  # a fixed training radius (not a prediction: no fault moves it)
    adv, _ = adversarial_run(ctx, adv_cfg, eps)
    return std, adv, eps


def _measure_radius(ctx):
    from featavg.evidence import median_interval

    std, adv, eps = _nets(ctx)
    N = _points(ctx)
    r_adv = ctx.radii(adv, points=N)
    r_std = ctx.radii(std, points=N)
    bound = float(ctx.prediction(ID, "median_radius_bound")(adv.config.d))
    med, lo, hi, cov = median_interval(r_adv)
    band = Band(bound, (Term(f"sample median minus its exact order-statistics lower confidence bound (coverage {cov:.4g}, "
                             f"{N} test points): accepts iff that lower bound <= the bound", med - lo, "stat"),), side="upper")
    avg = float(ctx.claim("C3.averaging_radius").predictions["radius_balanced"](adv.config.d, adv.config.k))
    return Outcome(bound, med, band, interval=(lo, hi), seeds=[adv.config.seed],
                   rivals={"no effect: the standard net's median radius (measured, same data)": float(np.median(r_std)),
                           "sqrt(d/k) (C3: adversarial training still averages)": avg},
                   details={"eps": eps, "eps_over_sqrt_d_over_2": EPS_RATIO, "points": N,
                            "median_standard": float(np.median(r_std)), "median_adversarial": med,
                            "median_adversarial_over_sqrt_d_over_2": med / bound, "interval_coverage": cov},
                   config={"adversarial": adv.config.to_dict(), "standard": std.config.to_dict(), "inner": "pgd",
                           "pgd_steps": 10})


RADIUS = Check(
    "V3.adversarial", "Measured finding: PGD-trained binary net (eps = 0.9 sqrt(d/2)): median exact radius above the "
    "standard net's and sqrt(d/k), below the sqrt(d/2) bound (one-sided)",
    "binary labels, k=10, d=3072, n=500, m=5; adversarial: eta=1e-2, 200 steps, PGD-L2 10 steps at eps = 0.9 sqrt(d/2); "
    "standard: eta=1e-3, 100 steps; exact radii of 120 test points (quick 60), reduced engine; upper band: the "
    "median's lower confidence bound must not exceed sqrt(d/2) (any classifier), and must exceed each rival",
    _measure_radius,
    rivals=(Rival("no effect: the standard net's median radius (measured, same data)", "adversarial training changes nothing"),
            Rival("sqrt(d/k) (C3: adversarial training still averages)", "the averaging radius")),
    faults=("closed_form",))


def _measure_cosine(ctx):
    from featavg.evidence import mean_interval
    from featavg.simulate import cosine_matrix, neuron_classes

    std, adv, eps = _nets(ctx)
    lab = adv.cluster_labels
    nt = np.bincount(adv.train.clusters, minlength=lab.size).astype(float)

    def best_own(run):
        C = cosine_matrix(run.network.W, run.features)
        cls = neuron_classes(run.network, lab)
        same = cls[:, None] == lab[None, :]
        j = np.where(same, C, -np.inf).argmax(axis=1)
        return C[np.arange(C.shape[0]), j], j

    c_adv, j_adv = best_own(adv)
    c_std, _ = best_own(std)
    bound_j = np.asarray(ctx.prediction(ID, "cosine_bound")(nt[j_adv]), float)
    m_, se, hw = mean_interval(c_adv - bound_j)
    bound = float(np.mean(bound_j))
    # cross terms neglected by the bound: each <xi_i, mu_j>/d is N(0, 1/d), their weighted sum over the own
    # cluster a relative 1/sqrt(n_j d) of the feature part; the initial weights a relative sigma_w/coefficient
    lam = np.abs(adv.network.W @ adv.features[j_adv].T).diagonal() / adv.config.d
    rel = 1.0 / np.sqrt(nt[j_adv] * adv.config.d) + adv.config.init_scale * np.sqrt(adv.config.d) / np.maximum(lam * adv.config.d, 1e-300)
    band = Band(bound, (Term(f"t(0.9995, {c_adv.size - 1}) x standard error of the mean over the {c_adv.size} neurons of "
                             "cos - its bound", hw, "stat"),
                        Term("cross terms the bound neglects: <xi_i, mu_j> (relative 1/sqrt(n_j d)) and the initial weights "
                             "(relative sigma_w sqrt(d)/<w, mu_j>), max over neurons, times the bound", float(np.max(rel) * bound))),
                side="upper", limits=(-1, 1))
    p_own = int(np.sum(lab > 0))
    return Outcome(bound, float(m_ + bound), band, interval=(m_ + bound - hw, m_ + bound + hw), seeds=[adv.config.seed],
                   rivals={"no effect: the standard net's mean best own cosine (measured, same data)": float(np.mean(c_std)),
                           "1/sqrt(|J_s|) (C1: averaging)": float(ctx.claim("C5.decoupling").predictions["cos_averaging"](p_own))},
                   details={"eps": eps, "best_own_cosine_adversarial": c_adv.tolist(), "owned_feature": j_adv.tolist(),
                            "distinct_features_owned": int(np.unique(j_adv).size), "best_own_cosine_standard": c_std.tolist()},
                   config={"adversarial": adv.config.to_dict(), "inner": "pgd"})


COSINE = Check(
    "V3.adversarial.cosine", "Measured finding: PGD-trained binary net (eps = 0.9 sqrt(d/2)): each neuron's best own-feature "
    "cosine above the standard net's and 1/sqrt(|J_s|), below the decoupled bound 1/sqrt(1 + 1/n_j) (one-sided)",
    "the nets of V3.adversarial; mean over the 10 neurons of max_{j in J_s} cos(w_r, mu_j), bound at the owned feature's n_j",
    _measure_cosine,
    rivals=(Rival("no effect: the standard net's mean best own cosine (measured, same data)", "adversarial training changes nothing"),
            Rival("1/sqrt(|J_s|) (C1: averaging)", "the averaging cosine")),
    faults=("closed_form",))
