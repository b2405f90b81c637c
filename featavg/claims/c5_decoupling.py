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

from featavg.evidence import Band, Check, Outcome, Rival, Term, mean_interval, seed_comparison
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Inner, Norm, SumOver, Text
from featavg.theory._common import d, evaluate_sums, factor_sums, p

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
    # -- appended (issue 14): the off-feature components and their correction of the cosine --
    more_steps, more_preds = _off_feature_dynamics()
    steps = tuple(steps) + more_steps
    preds = {**preds, **more_preds}
    return Claim(id=ID, title=Text("Fine-grained supervision decouples: ",
                                   sp.Eq(cos(w_jr, mu_j), 1 / sp.sqrt(1 + 1 / n_j), evaluate=False)),
                 statement=statement,
                 assumptions=Text("Orthogonal equinorm features; decoupled late phase (neuron ", sp.Tuple(sp.Symbol("j"), sp.Symbol("r")),
                                  " active on cluster ", sp.Symbol("j"), " only); the noise of the own cluster's points "
                                  "only."),
                 regime=Text("cluster labels, after the late phase has run; leading order in ", 1 / n_j),
                 steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------
#
# A cluster-supervised neuron (j, r) is not exactly its own feature: it keeps a component u Lambda on
# every other feature, and its cosine with mu_j is 1/sqrt(1 + eps^2 + sum_{c != j} u_c^2)
# (``cos_own_corrected``). The off-feature ratio u is the self-similar fixed point of the late
# phase: the neuron stays active on the points of each other cluster c whose noise projects most on
# mu_j, a fraction P = -(k - 1) u of them, which pull it at the rate p_{i,j} = (1 - p_{i,c})/(k - 1)
# against the own cluster's push (``off_feature_residual``; bracketed by the self-interaction of the
# active points, which lowers their pre-activation by their own weight). The noise share is the
# sample's own-cluster noise at 1/n_j per point, the initial noise part, and the active other
# points' noise (bracketed). All from the sizes, the sample and the initial weights.

def _seed_count(ctx):
    return 4 if ctx.quick else 8


def _fixed_point(ctx, d, k, n_other):
    """u*: no self-interaction, full self-interaction, centre and half-width of the bracket."""
    from scipy.optimize import brentq

    res = ctx.prediction(ID, "off_feature_residual")
    shift = float(ctx.prediction(ID, "off_feature_self_shift")(d, k, n_other))
    ends = [brentq(lambda u, s=s: float(res(u, d, k, s)), -1.0 + 1e-12, 0.0) for s in (0.0, shift)]
    return {"none": ends[0], "full": ends[1], "centre": 0.5 * (ends[0] + ends[1]),
            "half": 0.5 * abs(ends[0] - ends[1]), "shift": shift}


def _coefficient_T(ctx, cfg, u):
    """The own coefficient Lambda_T from C7.ce_margin_ode's margin map q <- q + eta qdot(q).

    The margin at mu_c is q_c = d Lambda + b with b = (1 + (k - 1) u) Lambda (the bias gets the own
    push and the other clusters' pulls), so Lambda = q_T/(d + 1 + (k - 1) u).
    """
    qdot = ctx.prediction("C7.ce_margin_ode", "qdot")
    q = 0.0
    for _ in range(cfg.steps):
        q += cfg.eta * float(qdot(q, cfg.d, cfg.h, cfg.k))
    return q, q / (cfg.d + 1 + (cfg.k - 1) * u)


def _analysis(ctx, run, steps):
    """Measured and predicted parts of one cluster-supervised run (cached)."""
    import dataclasses

    from scipy.special import ndtri

    key = (ID, "analysis", run.config, run.init_seed, steps)
    if key in ctx.cache:
        return ctx.cache[key]
    cfg = run.config
    F, X, clusters = run.features, run.train.X, run.train.clusters
    k, h = cfg.k, cfg.h
    dd = float(np.mean(np.einsum("jd,jd->j", F, F)))
    E = F / np.linalg.norm(F, axis=1, keepdims=True)

    def perp(V):
        return V - (V @ E.T) @ E

    own_j = np.repeat(np.arange(k), h)
    diag = own_j[:, None] == np.arange(k)[None, :]
    # measured: the trained weights
    W = run.network.W
    lam = W @ F.T / dd
    ljj = lam[diag]
    eta = perp(W)
    meas = {"u": (lam / ljj[:, None])[~diag].reshape(k * h, k - 1), "eps2": np.sum(eta ** 2, axis=1) / (dd * ljj ** 2),
            "cos": (W @ F.T)[diag] / (np.linalg.norm(W, axis=1) * np.sqrt(dd))}
    # predicted: sizes, sample, initial weights
    counts = np.bincount(clusters, minlength=k).astype(float)
    fp = _fixed_point(ctx, cfg.d, k, float(counts.mean()))
    q_T, Lam = _coefficient_T(ctx, dataclasses.replace(cfg, steps=steps), fp["centre"])
    Xi = np.zeros((k, X.shape[1]))
    np.add.at(Xi, clusters, perp(X))
    W0p = perp(run.W_init)
    tails = ctx.prediction("C1.feature_averaging", "tail_moments")
    z_star = float(ndtri(1 - (k - 1) * abs(fp["centre"])))
    m1, m2 = (float(x) for x in np.asarray(tails(z_star), float).ravel())
    # the active points' f_j is raised by the neuron (by sigma_z (Z - z*)/h), so p_{i,j} ~ e^{f_j} grows by at
    # most e^{a m1 + a^2 m2/2} - 1, a = sigma_z/h, sigma_z = sqrt(d (1 + (k-1) u^2)) Lambda
    a = np.sqrt(cfg.d * (1 + (k - 1) * fp["centre"] ** 2)) * Lam / h
    rate = float(np.expm1(a * m1 + 0.5 * a ** 2 * m2))
    u_small, u_big = sorted((abs(fp["none"]), abs(fp["full"])))
    u_big_rate = u_big * (1 + rate)
    own_noise = np.array([float(np.sum((W0p[r] + Lam / counts[own_j[r]] * Xi[own_j[r]]) ** 2)) / (dd * Lam ** 2)
                          for r in range(k * h)])
    others = np.array([np.sum(np.delete(1 / counts, own_j[r])) for r in range(k * h)])
    eps_lo = own_noise + u_small ** 2 * others
    eps_hi = own_noise + u_big_rate * others / (k - 1)
    o2_lo, o2_hi = (k - 1) * u_small ** 2, (k - 1) * u_big_rate ** 2
    # spread of the own points' weights 1 - p_{i,j}: their margins spread by q/sqrt(d) (their noise
    # along mu_j), |d log(1 - p)/dq| <= 1
    spread = own_noise * (q_T / np.sqrt(cfg.d)) ** 2
    # early phase alone (C7.ce_decoupling): the first step pulls lambda_{j,c} by eta a_{jc}/(k n h)
    Z0 = X @ run.W_init.T + run.b_init
    a_act = np.stack([(Z0[clusters == c] > 0).sum(axis=0) for c in range(k)], axis=1)  # (M, k)
    early = -(cfg.eta * a_act / (k * cfg.n * h))[~diag].reshape(k * h, k - 1) / Lam
    out = {"meas": meas, "fp": fp, "q_T": q_T, "Lam": Lam, "rate": rate, "eps_lo": eps_lo, "eps_hi": eps_hi,
           "o2_lo": o2_lo, "o2_hi": o2_hi, "spread": spread, "early": early, "u_rate": u_big * rate}
    ctx.cache[key] = out
    return out


def _runs(ctx):
    runs = ctx.paper_runs("cluster", _seed_count(ctx))
    return runs, [_analysis(ctx, r, ctx.paper_config("cluster").steps) for r in runs]


def _measure(ctx):
    runs, an = _runs(ctx)
    cos = ctx.prediction(ID, "cos_own_corrected")
    meas, pred, half, spread, plain = [], [], [], [], []
    for run, a in zip(runs, an):
        lo = np.asarray(cos(a["eps_hi"], a["o2_hi"]), float)
        hi = np.asarray(cos(a["eps_lo"], a["o2_lo"]), float)
        centre = np.asarray(cos(0.5 * (a["eps_lo"] + a["eps_hi"]), 0.5 * (a["o2_lo"] + a["o2_hi"])), float)
        meas.append(float(np.mean(a["meas"]["cos"])))
        pred.append(float(centre.mean()))
        half.append(float(np.mean(0.5 * (hi - lo))))
        spread.append(float(np.mean(0.5 * centre ** 3 * a["spread"])))
        nj = np.bincount(run.train.clusters, minlength=run.config.k).astype(float)
        share = ctx.prediction(ID, "noise_share")(nj)
        plain.append(float(np.mean(ctx.prediction(ID, "cos_own")(np.sqrt(share)))))
    meas, pred = np.array(meas), np.array(pred)
    predicted, stat, interval = seed_comparison(meas, pred)
    band = Band(predicted, (
        stat,
        Term("brackets of eps^2 (other clusters' active points: Cauchy-Schwarz .. full weight) and of sum u^2 "
             "(self-interaction none .. full, their larger p_ij): half the cosine range", float(np.mean(half))),
        Term("spread of the own points' weights 1 - p_ij (margins spread by q/sqrt(d)): (1/2) cos^3 eps^2 CV^2",
             float(np.mean(spread))),
    ), limits=(-1, 1))
    p_own = int(runs[0].config.positive)
    return Outcome(predicted, float(meas.mean()), band, interval=interval, seeds=[r.config.seed for r in runs],
                   baseline=float(np.mean(plain)),
                   rivals={"1/sqrt(|J_s|) (averaging)": float(ctx.prediction(ID, "cos_averaging")(p_own)),
                           "1/sqrt(1 + 1/n_j) (no off-feature correction)": float(np.mean(plain)),
                           "1 (infinite n, no off-feature part)": 1.0},
                   details={"per_seed": meas, "per_seed_predicted": pred, "fixed_point": an[0]["fp"],
                            "own_coefficient_T": an[0]["Lam"]},
                   config={"run": runs[0].config.to_dict()})


SCORE = Check(
    "C5.decoupling",
    "Cluster labels: decoupling score mean cos(w_j, mu_j) = 1/sqrt(1 + eps^2 + sum_{c != j} u_c^2) (off-feature "
    "fixed point u*, eps^2 = 1/n_j + corrections)",
    "cluster labels, paper setting (k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5), reduced engine, "
    "8 independent seeds (quick 4); prediction from the sizes, the sample and the initial weights; baseline "
    "mean_j 1/sqrt(1 + 1/n_j)", _measure,
    rivals=(Rival("1/sqrt(|J_s|) (averaging)", "an averaging multi-class net"),
            Rival("1/sqrt(1 + 1/n_j) (no off-feature correction)", "the noise share alone, off-feature components "
                  "taken as zero"),
            Rival("1 (infinite n, no off-feature part)", "the infinite-n decoupled limit")),
    faults=("average", "untrained", "closed_form"))


def _measure_off(ctx):
    runs, an = _runs(ctx)
    meas = np.array([float(np.mean(a["meas"]["u"])) for a in an])
    R = len(runs)
    m, _, hw = mean_interval(meas)
    fp = an[0]["fp"]
    predicted = fp["centre"]
    band = Band(predicted, (
        Term(f"t({R - 1} dof) x standard error of the mean over {R} seeds (each the mean over the off-feature pairs)",
             hw, "stat"),
        Term("self-interaction of the active points (lowering their pre-activation by 0 .. sqrt(d)/((k-1) n_c) "
             "sigma): half the fixed-point bracket", fp["half"]),
        Term("active points' larger p_ij (the neuron raises f_j on them): |u*| (e^Delta - 1)",
             float(np.mean([a["u_rate"] for a in an]))),
    ))
    k = runs[0].config.k
    return Outcome(predicted, float(meas.mean()), band, interval=(m - hw, m + hw), seeds=[r.config.seed for r in runs],
                   baseline=predicted,
                   rivals={"0 (no off-feature component)": 0.0,
                           "early-phase pull only (C7.ce_decoupling, then frozen)":
                               float(np.mean([np.mean(a["early"]) for a in an])),
                           "-1/(2(k-1)) (half of every other cluster active)": -0.5 / (k - 1),
                           "+|u*| (sign flipped)": -predicted},
                   details={"per_seed": meas, "fixed_point": fp}, config={"run": runs[0].config.to_dict()})


OFF_FEATURE = Check(
    "C5.decoupling.off_feature",
    "Cluster labels: off-feature ratio <w_j, mu_c>/<w_j, mu_j> = u*, the fixed point u* = -P(active | u*)/(k - 1)",
    "cluster labels, paper setting, 8 seeds (quick 4); mean over the (neuron, other feature) pairs; u* from the "
    "sizes (d, k, n_c)", _measure_off,
    rivals=(Rival("0 (no off-feature component)", "a neuron exactly along its own feature"),
            Rival("early-phase pull only (C7.ce_decoupling, then frozen)", "the components the first step leaves, "
                  "no late-phase pull"),
            Rival("-1/(2(k-1)) (half of every other cluster active)", "activity at the initial fraction 1/2"),
            Rival("+|u*| (sign flipped)", "a positive leak onto the other features")),
    faults=("average",))


def _reduced_gd(ctx, run, steps):
    r"""GD of the multi-class net on C5's decomposition with orthogonal training noises.

    As ``C1.feature_averaging``'s reduced GD (its ``_reduced_gd``): per neuron the coefficients, the
    bias and every point's weight :math:`c_{ir}`, a point's pre-activation
    :math:`z_{ir}(0) + d\langle\Delta\lambda_r, \mathrm{proj}_i\rangle + \Delta b_r + c_{ir}\|\xi_i^\perp\|^2`,
    the weight per step ``point_weight`` = :math:`\eta(1\{c_i = j\} - p_{ij})/(nh)` on active neurons.
    Dropped: the off-diagonal noise :math:`\sum_{i'\ne i} c_{i'r}\langle\xi_{i'}^\perp, \xi_i^\perp\rangle`
    (standard deviation :math:`\sqrt{(d - k)\sum_i c_{ir}^2}`); points within :math:`z_B` of it from 0
    are uncertain and their weights are summed per cluster in ``uncertain`` (M, k). Cached in the
    context per run and ``steps`` (:func:`score_band`, :func:`output_band` and
    ``featavg.testing.decoupling_prediction`` read the same GD).
    """
    key = (ID, "reduced_gd", run.config, run.init_seed, steps)
    if key in ctx.cache:
        return ctx.cache[key]
    from scipy.special import softmax

    from featavg.claims.c1_feature_averaging import _bonferroni, _sample_parts

    cfg = run.config
    S = _sample_parts(run)
    weight = ctx.prediction(ID, "point_weight")
    clusters = run.train.clusters
    n, h, d, k = cfg.n, cfg.h, S["d"], cfg.k
    M = k * h
    out_of = np.repeat(np.arange(k), h)
    ownpt = clusters[:, None] == out_of[None, :]
    alive = (ownpt & (S["Z0"] > 0)).any(axis=0)
    onehot = np.eye(k)[clusters]
    dlam, db, C = np.zeros((M, k)), np.zeros(M), np.zeros((n, M))
    uncertain = np.zeros((M, k))
    z_b = _bonferroni(n * M)
    for _ in range(steps):
        Z = S["Z0"] + d * S["proj"] @ dlam.T + db + C * S["xi2"][:, None]
        act = Z > 0
        Fo = np.zeros((n, k))
        np.add.at(Fo.T, out_of, np.where(act, Z, 0.0).T)
        P = softmax(Fo / h, axis=1)
        w = np.asarray(weight(onehot[:, out_of], P[:, out_of], cfg.eta, n, h), float) * act   # (n, M)
        sd = z_b * np.sqrt((d - k) * np.sum(C ** 2, axis=0))[None, :]
        unsure = (np.abs(Z) <= sd) & alive[None, :]
        uncertain += (np.abs(w) * unsure).T @ onehot
        dlam += w.T @ S["proj"]
        db += w.sum(axis=0)
        C += w
    ctx.cache[key] = {"lam": S["lam0"] + dlam, "C": C, "alive": alive, "uncertain": uncertain, "S": S}
    return ctx.cache[key]


def _cos_band(ctx, run, gd, j, rows):
    r"""Predicted cos(w, mu_j) of ``w = sum_{r in rows} w_r`` (neurons of output j), its budget, and its
    off-feature ratios with their budget (:func:`score_band`'s parts for a sum of neurons: the sum
    follows the same decomposition, with the summed coefficients, point weights and initial parts)."""
    S, k = gd["S"], run.config.k
    d = S["d"]
    cos = ctx.prediction(ID, "cos_own_corrected")
    clusters = run.train.clusters
    rows = list(rows)
    lam = gd["lam"][rows].sum(axis=0)
    Cr = gd["C"][:, rows].sum(axis=1)
    U = gd["uncertain"][rows].sum(axis=0)
    ljj = lam[j]
    others = np.delete(np.arange(k), j)
    sigma = np.sqrt((d - k) * np.sum(Cr ** 2))
    v = lam[others] / ljj
    # uncertain points, and every weight moved by a relative 3 sigma (through 1 - p)
    dv = (U[others] + 3 * sigma * (np.abs(Cr) @ np.abs(S["proj"][:, others]))) / ljj
    vec = S["W0perp"][rows].sum(axis=0) + Cr @ S["Xp"]
    eps2 = float(vec @ vec) / (d * ljj ** 2)
    c_max = np.array([np.max(np.abs(Cr[clusters == c]), initial=0.0) for c in range(k)])
    err_eps = 3 * float(np.sum(c_max * U)) / ljj ** 2 + 3 * sigma * eps2
    err_o2 = float(np.sum(2 * np.abs(v) * dv + dv ** 2))
    c = float(cos(eps2, float(np.sum(v ** 2))))
    return c, 0.5 * c ** 3 * (err_eps + err_o2), v, dv


def output_band(ctx, run, steps=None):
    """Predicted cos(w_j, mu_j) of each output's summed alive neurons ``w_j = sum_r w_{j,r}``, and its
    budget (:func:`_cos_band`); NaN for an output without an alive neuron.

    Returns
    -------
    predicted, halfwidth : ndarray, shape (k,)
    """
    steps = run.config.steps if steps is None else steps
    gd = _reduced_gd(ctx, run, steps)
    k, h = run.config.k, run.config.h
    pred, half = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        rows = [r for r in range(j * h, (j + 1) * h) if gd["alive"][r]]
        if rows:
            pred[j], half[j], _, _ = _cos_band(ctx, run, gd, j, rows)
    return pred, half


def score_band(ctx, run, steps=None):
    r"""Predicted cos(w_{j,r}, mu_j) of each alive neuron of one cluster-supervised run, its budget, and
    its off-feature ratios.

    Every part from :func:`_reduced_gd`: :math:`\varepsilon^2 = \|w(0)^\perp + \sum_i c_i\xi_i^\perp\|^2
    /(d\lambda_{jj}^2)`, :math:`o^2 = \sum_c (\lambda_{jc}/\lambda_{jj})^2`, through
    ``cos_own_corrected``. Budget: the uncertain points move ``sum c^2`` by at most ``3 c_max U`` and each
    ratio by ``U/lambda_jj``; the dropped noise moves every weight by a relative ``3 sigma`` at most
    (``sigma`` its standard deviation on a pre-activation, |d(1 - p)/dq| <= 1), i.e. eps^2 by ``3 sigma``
    of itself and each coefficient by ``3 sigma sum_i |c_i proj_i|``.

    Returns
    -------
    predicted, halfwidth : ndarray, shape (alive neurons,)
    ratios, ratio_halfwidth : ndarray, shape (alive neurons, k - 1)
        The predicted off-feature ratios lambda_jc/lambda_jj and their budget ``U_c/lambda_jj``.
    alive : ndarray of bool, shape (M,)
    certain : ndarray of bool, shape (alive neurons,)
        No point had an uncertain activity on the neuron (else the budget is a first-order bound: a
        flipped point moves the whole cluster's pre-activations by ``d c`` and the flips cascade).
    """
    steps = run.config.steps if steps is None else steps
    key = (ID, "score_band", run.config, run.init_seed, steps)
    if key in ctx.cache:
        return ctx.cache[key]
    gd = _reduced_gd(ctx, run, steps)
    h = run.config.h
    pred, half, ratios, r_half, certain = [], [], [], [], []
    for r in np.flatnonzero(gd["alive"]):
        c, hw, v, dv = _cos_band(ctx, run, gd, r // h, [r])
        pred.append(c)
        half.append(hw)
        ratios.append(v)
        r_half.append(dv)
        certain.append(not np.any(gd["uncertain"][r] > 0))
    out = (np.array(pred), np.array(half), np.array(ratios), np.array(r_half), gd["alive"], np.array(certain))
    ctx.cache[key] = out
    return out


def _off_feature_dynamics():
    r"""SymPy steps and predictions of the off-feature fixed point (appended to derive(); SymPy only)."""
    from featavg.theory._common import Phi

    k_ = sp.Symbol("k", positive=True)
    q, u = sp.symbols("q u", real=True)
    s = sp.Symbol("s", nonnegative=True)
    Lam = sp.Symbol("Lambda", positive=True)
    P = sp.Symbol("P", positive=True)
    c = sp.Symbol("c", integer=True, positive=True)
    e2, o2 = sp.symbols("varepsilon^2 o^2", nonnegative=True)
    # softmax at equal margins: p_c = e^q/(e^q + k - 1), p_j = 1/(e^q + k - 1)
    p_own = sp.exp(q) / (sp.exp(q) + k_ - 1)
    p_other = 1 / (sp.exp(q) + k_ - 1)
    var_sum = d * Lam ** 2 + sp.Sum(d * (u * Lam) ** 2, (c, 1, k_ - 1))
    z_over_sigma = (d * u + 1 + (k_ - 1) * u) / sp.sqrt(d * (1 + (k_ - 1) * u ** 2))
    residual = u + Phi(z_over_sigma - s) / (k_ - 1)
    n_c = sp.Symbol("n_c", positive=True)
    lam_o = sp.Function("lambda_c")
    # the cosine with off-feature components
    cos_w = d * Lam / (sp.sqrt(d) * sp.sqrt(d * Lam ** 2 + d * Lam ** 2 * o2 + e2 * d * Lam ** 2))
    # one point's weight per step on an active neuron (j, r): -eta dCE/dw = eta (1{c = j} - p_j) x/(n h)
    w_, x_ = sp.symbols("w x", real=True)
    n_, h_ = sp.symbols("n h", positive=True)
    eta_ = sp.Symbol("eta", positive=True)
    delta_cj, p_j = sp.symbols("delta_cj p_j", real=True)
    # a point of cluster c with k outputs f_i (symbolic k); the neuron (j, r) adds w x/h to f_j
    fI, iI, jI, cI = sp.IndexedBase("f", real=True), *sp.symbols("i j c", positive=True, integer=True)
    F_i = fI[iI] + sp.KroneckerDelta(iI, jI) * w_ * x_ / h_
    ce_k = sp.log(sp.Sum(sp.exp(F_i), (iI, 1, k_))) - F_i.subs(iI, cI)
    softmax_j = sp.exp(F_i.subs(iI, jI)) / sp.Sum(sp.exp(F_i), (iI, 1, k_))

    def point_weight(st):
        # -eta/n times the CE gradient in w, for every k: the Kronecker sum picks output j
        step = evaluate_sums(-eta_ * sp.diff(ce_k, w_) / n_, [(jI, 1, k_), (cI, 1, k_)])
        stated = st.rhs.subs({delta_cj: sp.KroneckerDelta(cI, jI), p_j: softmax_j})
        return is_zero(sp.simplify(step - stated).subs(cI, jI)) and is_zero(sp.simplify(step - stated).subs(cI, jI + 1))

    def equal_margins(st):
        # own margin q, the k - 1 others at 0: the softmax sums as Sums over the outputs
        denominator = sp.exp(q) + sp.Sum(1, (iI, 1, k_ - 1)).doit()
        return is_zero((1 - sp.exp(q) / denominator) - st.rhs) and is_zero(st.lhs - (1 - sp.exp(q) / denominator))

    def variance(st):
        return is_zero(var_sum.doit() - st.rhs)

    def self_similar(st):
        # per unit of own push (1 - p_c), a fraction P of cluster c pulls at p_j = (1 - p_c)/(k - 1): the rate of
        # lambda_c per unit of Lambda is -P p_j/(1 - p_c); self-similarity lambda_c = u Lambda fixes u to it
        rate = sp.simplify(-P * p_other / (1 - p_own))
        (u_val,) = sp.solve(sp.Eq(sp.diff(u * Lam, Lam), rate), u)
        return is_zero(rate - st.rhs) and is_zero(u_val - st.rhs)

    def fixed_point(st):
        # the active fraction of cluster c is P = Phi(z/sigma - s) (its pre-activation d u Lambda + b over
        # its noise's sigma, shifted by an active point's own noise s); u = -P/(k - 1) is the stated residual's
        # zero, and z/sigma increases in u, so the zero is unique
        derived = u + Phi(z_over_sigma - s) / (k_ - 1)
        slope = is_zero(sp.simplify(sp.diff(z_over_sigma, u) * sp.sqrt(d) * (1 + (k_ - 1) * u ** 2) ** sp.Rational(3, 2))
                        - (d + k_ - 1 - (k_ - 1) * u))
        return slope and is_zero((st.lhs - st.rhs) - derived)

    def cosine(st):
        # <w, mu_j> = d Lambda, ||w||^2 = d Lambda^2 (1 + o^2) + ||eta||^2, ||mu_j||^2 = d
        uc = sp.IndexedBase("u", real=True)
        norm2 = d * Lam ** 2 + sp.Sum(d * (uc[cI] * Lam) ** 2, (cI, 1, k_ - 1)) + e2 * d * Lam ** 2
        o2_sum = sp.Sum(uc[cI] ** 2, (cI, 1, k_ - 1))
        cos_derived = d * Lam / (sp.sqrt(d) * sp.sqrt(factor_sums(norm2).subs(o2_sum, o2)))
        return is_zero(cos_derived - st.rhs)

    w_s, mu_j, mu_c, xi = sp.Symbol("w"), sp.Symbol("mu_j"), sp.Symbol("mu_c"), sp.Symbol("xi")
    eta_n, others = sp.Symbol("eta"), sp.Symbol("O_j")       # O_j: the k - 1 other clusters
    eps_shown, o_shown = sp.Symbol("varepsilon") ** 2, sp.Symbol("o") ** 2
    steps = (
        Step(Text("a point of cluster ", cI, " adds ", eta_ * (delta_cj - p_j) / (n_ * h_), " times ",
                  sp.Symbol("x_i"), " to each active neuron ", sp.Tuple(jI, sp.Symbol("r")),
                  " (softmax cross-entropy, for every ", k_, ")"),
             sp.Eq(sp.Symbol("Delta w"), eta_ * (delta_cj - p_j) * x_ / (n_ * h_), evaluate=False), point_weight),
        Step(Text("softmax at equal margins ", q, ": ", sp.Eq(1 - sp.Symbol("p_c"), (k_ - 1) * p_j, evaluate=False),
                  " (the own push shared over the ", k_ - 1, " pulls)"),
             sp.Eq(1 - p_own, (k_ - 1) * p_other, evaluate=False), equal_margins),
        Step(Text(sp.Eq(w_s, Lam * mu_j + u * Lam * SumOver(mu_c, cI, others), evaluate=False), ": ",
                  sp.Eq(notation("Var")(Inner(w_s, xi)), d * Lam ** 2 * (1 + (k_ - 1) * u ** 2), evaluate=False),
                  " (", others, ": the other clusters)"),
             sp.Eq(var_sum, d * Lam ** 2 * (1 + (k_ - 1) * u ** 2), evaluate=False), variance),
        Step(Text("self-similar off-feature coefficient ", sp.Eq(sp.Symbol("lambda_c"), u * Lam, evaluate=False),
                  " of ", sp.Eq(sp.Derivative(lam_o(Lam), Lam), -P / (k_ - 1), evaluate=False), " needs ",
                  sp.Eq(u, -P / (k_ - 1), evaluate=False)),
             sp.Eq(sp.Derivative(lam_o(Lam), Lam), -P / (k_ - 1), evaluate=False), self_similar),
        Step(Text("the fixed point ", sp.Symbol("u^*"), " is unique: ", sp.Eq(sp.Derivative(sp.Symbol("z") / sp.Symbol("sigma"), u),
                                                                            (d + k_ - 1 - (k_ - 1) * u)
                                                                            / (sp.sqrt(d) * (1 + (k_ - 1) * u ** 2)
                                                                               ** sp.Rational(3, 2)), evaluate=False),
                  " is positive; ", sp.Eq(s, sp.sqrt(d) / ((k_ - 1) * n_c), evaluate=False),
                  " for an active point at full weight"),
             sp.Eq(residual, 0, evaluate=False), fixed_point),
        Step(Text(sp.Eq(notation("cos")(w_s, mu_j), 1 / sp.sqrt(1 + eps_shown + o_shown), evaluate=False), " for ",
                  sp.Eq(w_s, Lam * mu_j + SumOver(sp.Symbol("u_c") * Lam * mu_c, cI, others) + eta_n, evaluate=False),
                  ", ", sp.Eq(o_shown, SumOver(sp.Symbol("u_c") ** 2, cI, others), evaluate=False), ", ",
                  sp.Eq(eps_shown, Norm(eta_n) ** 2 / (d * Lam ** 2), evaluate=False)),
             sp.Eq(cos_w, 1 / sp.sqrt(1 + e2 + o2), evaluate=False), cosine),
    )
    preds = {
        "off_feature_residual": lambdify_prediction([u, d, k_, s], residual, "u + Phi(z(u)/sigma - s)/(k - 1): zero at u*"),
        "off_feature_self_shift": lambdify_prediction([d, k_, n_c], sp.sqrt(d) / ((k_ - 1) * n_c),
                                                      "sqrt(d)/((k-1) n_c): an active point's own-noise shift, sigma units"),
        "cos_own_corrected": lambdify_prediction([e2, o2], 1 / sp.sqrt(1 + e2 + o2), "1/sqrt(1 + eps^2 + o^2)"),
        "point_weight": lambdify_prediction([delta_cj, p_j, eta_, n_, h_], eta_ * (delta_cj - p_j) / (n_ * h_),
                                            "eta (1{c = j} - p_j)/(n h): a point's weight per step on an active neuron"),
    }
    return steps, preds
