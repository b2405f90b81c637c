r"""C5.decoupling: cluster labels make each neuron hold its own feature alone.

The claim (docs/science.md §2, C5). After GD on the multi-class network with cluster labels every
neuron is its own feature plus a noise component orthogonal to the features,
:math:`w_{j,r} = \alpha\mu_j + \eta_{j,r}`, so :math:`\cos(w_{j,r}, \mu_j) = 1/\sqrt{1+\varepsilon^2}`
and :math:`\cos(w_{j,r}, \mu_i) = 0` for :math:`i \ne j`. In the decoupled late phase the neuron is
active on its own cluster only (C7.ce_margin_ode), so its noise part is a sum over the ``n_j``
points of its own cluster, each carrying ``1/n_j`` of the weight: :math:`\varepsilon^2 = 1/n_j`.
An averaging net instead scores :math:`1/\sqrt{|J_s|}`.

Evidence: cosines of cluster-supervised nets trained at the paper's setting; the cosine heatmaps
(the paper's Figure 2) are on this page too.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, mean_interval
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Norm, SumOver, Text
from featavg.theory._common import d, p

ID = "C5.decoupling"
ORDER = (5, 0)


def derive():
    """The claim: the cosines of a decoupled neuron, and its finite-n noise share 1/n_j."""
    alpha = sp.Symbol("alpha", positive=True)
    e = sp.Symbol("e", nonnegative=True)
    eps = sp.Symbol("varepsilon", nonnegative=True)
    n_j = sp.Symbol("n_j", positive=True, integer=True)
    C = sp.Symbol("C", positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    cos_own = alpha * d / (sp.sqrt(d) * sp.sqrt(alpha ** 2 * d + e ** 2))
    # noise part: n_j points carrying C/n_j each, ||sum||^2 = d n_j (C/n_j)^2; feature part C^2 d
    noise2 = d * sp.Sum((C / n_j) ** 2, (i, 1, n_j))
    cos_avg = alpha * d / (sp.sqrt(d) * alpha * sp.sqrt(p * d))
    w_jr, mu_j, mu_i, eta = sp.Symbol("w_j,r"), sp.Symbol("mu_j"), sp.Symbol("mu_i"), sp.Symbol("eta")
    cos = notation("cos")
    statement = sp.And(sp.Eq(cos(w_jr, mu_j), 1 / sp.sqrt(1 + eps ** 2), evaluate=False),
                       sp.Eq(eps ** 2, 1 / n_j, evaluate=False), evaluate=False)
    steps = (
        Step(Text("for ", sp.Eq(w_jr, alpha * mu_j + eta, evaluate=False), " with ", eta,
                  " orthogonal to the features and ", sp.Eq(eps, Norm(eta) / Norm(alpha * mu_j), evaluate=False),
                  ": the cosine with its own feature"),
             sp.Eq(cos_own, 1 / sp.sqrt(1 + eps ** 2), evaluate=False),
             lambda st: is_zero(cos_own.subs(e, eps * alpha * sp.sqrt(d)) - st.rhs)),
        Step(Text("decoupled late phase: the ", n_j, " points of the own cluster carry ", C / n_j,
                  " each, so ", sp.Eq(eps ** 2, 1 / n_j, evaluate=False)),
             sp.Eq(noise2 / (C ** 2 * d), 1 / n_j, evaluate=False),
             lambda st: is_zero((noise2 / (C ** 2 * d)).doit() - st.rhs)),
        Step(Text("an averaging neuron ", alpha * SumOver(mu_i, sp.Symbol("i"), sp.Symbol("J_s")), " scores ",
                  1 / sp.sqrt(p)),
             sp.Eq(cos_avg, 1 / sp.sqrt(p), evaluate=False), lambda st: is_zero(cos_avg - st.rhs)),
    )
    preds = {"cos_own": lambdify_prediction([eps], 1 / sp.sqrt(1 + eps ** 2), "cos(w_{j,r}, mu_j) = 1/sqrt(1 + eps^2)"),
             "noise_share": lambdify_prediction([n_j], 1 / n_j, "eps^2 = 1/n_j"),
             "cos_averaging": lambdify_prediction([p], 1 / sp.sqrt(p), "1/sqrt(|J_s|), an averaging neuron")}
    return Claim(id=ID, title=Text("Fine-grained supervision decouples: ",
                                   sp.Eq(cos(w_jr, mu_j), 1 / sp.sqrt(1 + 1 / n_j), evaluate=False)),
                 statement=statement,
                 assumptions=Text("Orthogonal equinorm features; decoupled late phase (neuron ", sp.Tuple(sp.Symbol("j"), sp.Symbol("r")),
                                  " active on cluster ", sp.Symbol("j"), " only); the noise of the own cluster's points "
                                  "only."),
                 regime=Text("cluster labels, after the late phase has run; leading order in ", 1 / n_j),
                 steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.simulate import decoupling_score

    R = 4 if ctx.quick else 8
    runs = ctx.paper_runs("cluster", R)
    meas, pred = [], []
    for run in runs:
        meas.append(decoupling_score(run.network, run.features, run.cluster_labels))
        nj = np.bincount(run.train.clusters, minlength=run.config.k).astype(float)
        share = ctx.prediction(ID, "noise_share")(nj)
        pred.append(float(np.mean(ctx.prediction(ID, "cos_own")(np.sqrt(share)))))
    m, se, hw = mean_interval(meas)
    predicted = float(np.mean(pred))
    band = Band(predicted, (Term(f"t({R - 1} dof) x standard error over {R} seeds", hw, "stat"),
                            Term("CALIBRATED: off-feature components left by the early phase, 0.01 (to be derived)",
                                 0.01)), limits=(-1, 1))
    p_own = int(runs[0].config.positive)
    return Outcome(predicted, m, band, interval=(m - hw, m + hw), seeds=[r.config.seed for r in runs],
                   rivals={"1/sqrt(|J_s|) (averaging)": float(ctx.prediction(ID, "cos_averaging")(p_own))},
                   details={"per_seed": meas}, config={"run": runs[0].config.to_dict()})


SCORE = Check(
    "C5.decoupling", "Cluster labels: decoupling score (mean cos(w_j, mu_j)) = mean_j 1/sqrt(1 + 1/n_j)",
    "cluster labels, paper setting (k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5), reduced engine, "
    "several seeds", _measure,
    rivals=(Rival("1/sqrt(|J_s|) (averaging)", "an averaging multi-class net"),),
    faults=("average",))
