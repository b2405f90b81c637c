r"""C1.feature_averaging: binary labels make every neuron the average of its class's features.

The claim (docs/science.md §2, C1). After GD on binary labels every neuron is, up to a noise
component orthogonal to the features,

.. math:: w_{s,r} = \alpha \sum_{j\in J_s} \mu_j + \eta_{s,r}, \qquad \eta_{s,r}\perp\mu_j,

so with orthogonal equinorm features (:math:`\|\sum_{J_s}\mu_j\|^2 = p d`, :math:`p = |J_s|`) and
the noise share :math:`\varepsilon^2 = \|\eta\|^2/\|\alpha\sum_{J_s}\mu_j\|^2`

.. math:: \cos(w_{s,r}, \mu_j) = \frac{1}{\sqrt p\,\sqrt{1+\varepsilon^2}}, \qquad
          \cos\Big(w_{s,r}, \sum_{J_s}\mu_j\Big) = \frac{1}{\sqrt{1+\varepsilon^2}}.

Finite n. In the late phase every own-class point pushes the neuron by a multiple of its input
``x_i = mu_{c_i} + xi_i`` and GD keeps the clusters' total weights equal (the margins equalise,
C7.equal_margins_attract), so cluster ``j``'s points each carry ``1/n_j`` of a common weight and
the noise part is a sum of ``n_j`` independent ``xi_i`` per cluster: ``||eta||^2 ~ d sum_j 1/n_j``
times the weight squared, i.e. :math:`\varepsilon^2 = \frac1p\sum_{j\in J_s} 1/n_j` (``~ k/n``).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, mean_interval
from featavg.theory import Claim, Norm, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import In, SumOver, Text
from featavg.theory._common import d, evaluate_sums, k, n, p

ID = "C1.feature_averaging"
ORDER = (1, 1)


def derive():
    """The claim: cosines of an averaged neuron, exactly, and its finite-n noise share."""
    alpha = sp.Symbol("alpha", positive=True)
    e = sp.Symbol("e", nonnegative=True)   # ||eta||
    eps = sp.Symbol("varepsilon", nonnegative=True)
    i, j, l = sp.symbols("i j l", integer=True, positive=True)
    # ||sum_{J_s} mu_j||^2 = sum_{i,l} <mu_i, mu_l> = sum_{i,l} d delta_il = p d (general p)
    gram_sum = sp.Sum(sp.Sum(d * sp.KroneckerDelta(i, l), (i, 1, p)), (l, 1, p))
    u2 = p * d
    w2 = alpha ** 2 * u2 + e ** 2              # ||w||^2, eta orthogonal to the features
    cos_feature = alpha * d / (sp.sqrt(d) * sp.sqrt(w2))
    cos_sum = alpha * u2 / (sp.sqrt(u2) * sp.sqrt(w2))
    share = {e: eps * alpha * sp.sqrt(u2)}      # e = eps ||alpha sum mu||
    nj = sp.IndexedBase("n", positive=True)
    eps2_finite_n = sp.Sum(1 / nj[j], (j, 1, p)) / p

    # late-phase weights: cluster j's n_j points each carry C/n_j, so
    # ||sum_i c_i xi_i||^2 = d sum_j n_j (C/n_j)^2 = d C^2 sum_j 1/n_j and the feature part has norm^2 C^2 p d
    C = sp.Symbol("C", positive=True)
    noise2 = d * sp.Sum(nj[j] * (C / nj[j]) ** 2, (j, 1, p))
    feature2 = C ** 2 * p * d

    w_sr, mu_j, mu_i = sp.Symbol("w_s,r"), sp.Symbol("mu_j"), sp.Symbol("mu_i")
    cos = notation("cos")
    J_s = sp.Symbol("J_s")
    sum_mu = SumOver(mu_i, sp.Symbol("i"), J_s)
    statement = sp.And(
        sp.Eq(cos(w_sr, mu_j), 1 / (sp.sqrt(p) * sp.sqrt(1 + eps ** 2)), evaluate=False),
        sp.Eq(sp.Symbol("varepsilon") ** 2, eps2_finite_n, evaluate=False), evaluate=False)

    def cosines(st):
        return (is_zero(sp.sqrt(p) * cos_feature - st.rhs)
                and is_zero(cos_sum.subs(share) - 1 / sp.sqrt(1 + eps ** 2)))

    steps = (
        Step(Text("orthogonal equinorm features: the squared norm of the class sum is ", p * d, ", for every ",
                  sp.Eq(p, sp.Abs(J_s), evaluate=False)),
             sp.Eq(gram_sum, u2, evaluate=False),
             lambda st: is_zero(evaluate_sums(gram_sum, [(l, 1, p)]) - st.rhs)),
        Step(Text("for ", sp.Eq(w_sr, alpha * sum_mu + sp.Symbol("eta"), evaluate=False), " with ",
                  sp.Symbol("eta"), " orthogonal to the features and ",
                  sp.Eq(eps, Norm(sp.Symbol("eta")) / Norm(alpha * sum_mu), evaluate=False),
                  ": the cosine with one feature"),
             sp.Eq(cos_feature, 1 / (sp.sqrt(p) * sp.sqrt(1 + eps ** 2)), evaluate=False),
             lambda st: is_zero(cos_feature.subs(share) - st.rhs)),
        Step(Text("the cosine with the class sum is ", sp.sqrt(p), " times that with one feature, i.e. ",
                  1 / sp.sqrt(1 + eps ** 2)),
             sp.Eq(sp.sqrt(p) * cos_feature, cos_sum, evaluate=False), cosines),
        Step(Text("late phase: the ", sp.Symbol("n_j"), " points of cluster ", j, " carry ", C / sp.Symbol("n_j"),
                  " each, so the noise share is the mean of ", 1 / sp.Symbol("n_j"), " over the class"),
             sp.Eq(noise2 / feature2, eps2_finite_n, evaluate=False),
             lambda st: is_zero(sp.simplify((noise2 / feature2).doit() - st.rhs.doit()))),
    )
    preds = {
        "cos_own_feature": lambdify_prediction([p], 1 / sp.sqrt(p), "cos(w_{s,r}, mu_j) = 1/sqrt(|J_s|), exact averaging"),
        "cos_class_sum": lambdify_prediction([eps], 1 / sp.sqrt(1 + eps ** 2),
                                             "cos(w_{s,r}, sum_{J_s} mu_j) = 1/sqrt(1 + eps^2), eps^2 the noise share"),
        "noise_share_balanced": lambdify_prediction([k, n], k / n,
                                                    "eps^2 = k/n when every cluster holds n/k training points"),
    }
    # -- appended (issue 14): the finite-n averaging dynamics the evidence below checks against --
    more_steps, more_preds = _finite_n_dynamics()
    steps = tuple(steps) + more_steps
    preds = {**preds, **more_preds}
    return Claim(
        id=ID, title=Text("Feature averaging: each neuron is its class's summed feature plus a noise share ",
                          sp.Eq(eps ** 2, k / n, evaluate=False)),
        statement=statement,
        assumptions=Text("Orthogonal equinorm features (Assumption 3.2); ", sp.Symbol("eta"),
                         " orthogonal to the features; late-phase weights in which every own-class point of cluster ",
                         j, " carries ", 1 / sp.Symbol("n_j"), " of the cluster's weight."),
        regime=Text("binary labels, after the late phase has run (C7); leading order in ", 1 / sp.Symbol("n_j"),
                    ". ", dead_neuron_note("so the claim holds for the live neurons")),
        steps=steps, predictions=preds)


def dead_neuron_note(conclusion):
    """The regime's note on dead neurons (lemma L4), typeset; ``conclusion`` ends it."""
    j_, J_s = sp.Symbol("j", integer=True, positive=True), sp.Symbol("J_s")
    n_j = sp.Symbol("n_j")
    return Text("Dead neurons (lemma L4): a neuron that fires on no own-class training point at initialisation, "
                "probability the product of ", 1 / (n_j + 1), " over ", In(j_, J_s),
                " (the dead-neuron probability of the lemmas module; 1e-10 at the paper's ",
                sp.Eq(n_j, 100, evaluate=False), " and ", sp.Eq(sp.Abs(J_s), 5, evaluate=False),
                ", 5.6% at a single cluster of 17), is revived by the first GD step only with the probability that "
                "lemma L4 derives for its trajectories; one that stays dead does not average, ", conclusion,
                " (the lemmas module's dead-at-initialisation test tells them apart).")


# ---- evidence -----------------------------------------------------------------------------------
#
# What the checks measure, and against what. Neuron by neuron, a binary run is described by its
# feature coefficients lambda_{r,j} = <w_r, mu_j>/d, their ratios rho_{r,j} = lambda_{r,j}/mean_{J_s}
# lambda_{r,.} (own features: the between-cluster spread; opposite features: the opposite-class
# ratio) and its noise share eps_r^2. The identity ``score_from_parts`` (derive()) writes the
# averaging score through them,
#
#     cos(w_r, sum_{J_s} mu) = 1/sqrt(1 + CV_r^2 + (1/p) sum_{J_{-s}} rho_{r,j}^2 + eps_r^2),
#
# so each check tests one part, and C1.cos_class_sum their sum. Every part is predicted from the
# sizes, the training sample and the initial weights, never from the trained net:
#   * own-feature ratios: C1's decomposition w = sum_j lambda_j mu_j + eta turned into dynamics --
#     GD on the coefficients lambda_r, the biases and each point's weight c_ir, with the training
#     noises taken orthogonal (their Gram matrix replaced by its diagonal ||xi_i^perp||^2, so a point
#     feels the noise part of the weights only through its own weight). That is C7's early phase
#     (C7.early_gradient, with the sample's active points) followed by the count-weighted margin
#     map (C7.margin_ode with pi_j = n_j/n, point margins moved by their feature projections); its
#     error is the dropped off-diagonal noise, of derived size;
#   * opposite-feature ratios: the closed-form self-similar fixed point u* = -P(u*) (a fraction -u*
#     of each opposite cluster stays active), bracketed by the self-interaction of the active points;
#     a pair keeps what the early phase left until that has decayed to u* (min(early/Lambda_T, u*):
#     u* at the paper's setting, the early residue at large d and few late steps);
#   * eps^2: the sample's own-class noise carrying the weight lambda_{r,j}/n_j per point (the closed
#     form's weights, with the predicted lambda), the initial weights' noise part, and the noise of
#     the active opposite points (bracketed by Cauchy-Schwarz and the largest weight a point can carry).
# For a single run (featavg.testing, the property tests) ``score_band`` takes every part from the
# reduced GD itself, with a budget from its points of uncertain activity and the dropped noise.
# A neuron that fires on no point of its own class at initialisation gets no gradient from them (the
# dead-neuron condition, issue 20): such neurons are outside the claim's regime; they are excluded and
# counted (none at the paper's setting, where the probability is ~ (1/101)^5 per neuron).

from featavg.evidence import CONFIDENCE, quantile, t_quantile  # the evidence half's own imports

#: relative margin shift of the linear response of the coefficient ratios (finite difference; the
#: response is linear to O(shift): 1e-3 of an O(1e-3) effect)
RESPONSE_SHIFT = 1e-3


def _seed_count(ctx):
    """Independent seeds (data and initialisation) of the paper setting."""
    return 4 if ctx.quick else 8


def _bonferroni(count):
    """Two-sided normal quantile for a vector band: all ``count`` components jointly at CONFIDENCE."""
    return quantile(1.0 - (1.0 - CONFIDENCE) / max(int(count), 1))


def _t_joint(dof, count):
    """Student-t quantile with ``dof`` degrees of freedom, Bonferroni over ``count`` components."""
    return t_quantile(dof, 1.0 - (1.0 - CONFIDENCE) / max(int(count), 1))


def _sample_parts(run):
    """What the predictions use of a run: sizes, the training sample, the initial weights.

    Returns a dict: ``d`` (``||mu_j||^2``), ``proj`` (n, k) = ``<x_i, mu_j>/d``, ``xi2`` (n,) =
    ``||xi_i^perp||^2``, ``counts`` (k,), ``cls`` (M,) neuron classes, ``own`` (M, k) own-class
    mask, ``Xp`` (n, D) the training noise orthogonal to the features ``xi_i^perp``, ``Xi`` (k, D)
    its per-cluster sums, ``W0perp`` (M, D), ``lam0`` (M, k) the initial coefficients, ``Z0`` (n, M) the
    initial pre-activations.
    """
    from featavg.simulate import neuron_classes

    F, labels = run.features, run.cluster_labels
    X, clusters = run.train.X, run.train.clusters
    k = F.shape[0]
    dd = float(np.mean(np.einsum("jd,jd->j", F, F)))
    E = F / np.linalg.norm(F, axis=1, keepdims=True)
    Xp = X - (X @ E.T) @ E
    cls = neuron_classes(run.network, labels)
    Xi = np.zeros((k, X.shape[1]))
    np.add.at(Xi, clusters, Xp)
    return {"d": dd, "proj": X @ F.T / dd, "xi2": np.einsum("id,id->i", Xp, Xp), "Xp": Xp,
            "counts": np.bincount(clusters, minlength=k).astype(float), "cls": cls,
            "own": cls[:, None] == labels[None, :], "Xi": Xi,
            "W0perp": run.W_init - (run.W_init @ E.T) @ E, "lam0": run.W_init @ F.T / dd,
            "Z0": X @ run.W_init.T + run.b_init}


def _reduced_gd(ctx, run, S, steps, shift=None):
    r"""GD on C1's decomposition with orthogonal training noises (module comment).

    State per neuron: the coefficient increments :math:`\Delta\lambda_r` (k,), the bias increment and
    every point's weight :math:`c_{ir}` (:math:`\Delta w_r = \sum_j\Delta\lambda_{rj}\mu_j +
    \sum_i c_{ir}\xi_i^\perp`). A point's pre-activation is
    :math:`z_{ir} = z_{ir}(0) + d\langle\Delta\lambda_r, \mathrm{proj}_i\rangle + \Delta b_r +
    c_{ir}\|\xi_i^\perp\|^2`; a GD step adds :math:`y_i s_r\,w(q_i)\,1\{z_{ir} > 0\}` to
    :math:`c_{ir}` and its projection to :math:`\Delta\lambda_r`, with the point weight
    :math:`w(q) = \eta g(q)/(nm)` (``point_weight``). Dropped: the off-diagonal noise
    :math:`\sum_{i' \ne i} c_{i'r}\langle\xi_{i'}^\perp, \xi_i^\perp\rangle`, Gaussian with variance
    :math:`(d - k)\sum_{i'} c_{i'r}^2`. A point whose pre-activation lies within :math:`z_B` standard
    deviations of it from 0 has an uncertain activity; its weight times its projections is summed in
    ``uncertain`` (own-class points: the lag of a pair that revives in the early phase) and
    ``uncertain_opp`` (opposite points): the most their activity can move the coefficients.

    Parameters
    ----------
    steps : int
        GD steps (the steps the run was asked for).
    shift : ndarray, shape (n,), optional
        Relative shift of each point's pre-activation on its own class's neurons (linear response).

    Returns
    -------
    dict
        ``lam`` (M, k) coefficients at ``steps``; ``lam_early`` (M, k) at the end of the early phase
        (the first step from which every own-class point is active on every alive own neuron);
        ``early_steps``; ``alive`` (M,) fires on some own-class point at initialisation;
        ``uncertain`` (M, k) and ``uncertain_opp`` (M, k) for the own and the opposite points;
        ``C`` (n, M) the points' weights; ``q`` (steps, 2) the class-mean margins of the own points
        (positive class, negative class); ``late_active`` (M, k) some point of cluster j is active on
        neuron r after the early phase.
    """
    cfg = run.config
    weight = ctx.prediction(ID, "point_weight")
    y = run.train.y
    n, m, d = cfg.n, cfg.m, S["d"]
    M, k = S["lam0"].shape
    signs = np.repeat([1.0, -1.0], m)
    ownpt = y[:, None] == signs[None, :]                      # (n, M): point i is of neuron r's class
    alive = (ownpt & (S["Z0"] > 0)).any(axis=0)
    dlam, db, C = np.zeros((M, k)), np.zeros(M), np.zeros((n, M))
    uncertain, uncertain_opp = np.zeros((M, k)), np.zeros((M, k))
    abs_proj = np.abs(S["proj"])
    z_b = _bonferroni(n * M)
    early, lam_early, margins = None, None, []
    onehot = np.eye(k)[run.train.clusters]
    late_active = np.zeros((M, k), bool)
    rel = np.zeros(n) if shift is None else np.asarray(shift, float)
    for t in range(steps):
        Z = S["Z0"] + d * S["proj"] @ dlam.T + db + C * S["xi2"][:, None]
        Z = Z + np.where(ownpt, rel[:, None] * np.abs(Z), 0.0)
        act = Z > 0
        if early is None and t > 0 and np.all(act | ~ownpt | ~alive[None, :]):
            early, lam_early = t, S["lam0"] + dlam
        if early is not None:
            late_active |= (act.T.astype(float) @ onehot) > 0
        sd = z_b * np.sqrt((d - k) * np.sum(C ** 2, axis=0))[None, :]
        unsure = (np.abs(Z) <= sd) & alive[None, :]
        f = np.sum(np.where(act, Z, 0.0) * signs, axis=1) / m
        margins.append([float(np.mean((y * f)[y == s])) for s in (1, -1)])
        w = np.asarray(weight(y * f, cfg.eta, n, m), float)       # eta g(y_i f(x_i))/(n m)
        D = (y * w)[:, None] * signs[None, :] * act                 # (n, M)
        uncertain += (w[:, None] * (unsure & ownpt)).T @ abs_proj
        uncertain_opp += (w[:, None] * (unsure & ~ownpt)).T @ abs_proj
        dlam += D.T @ S["proj"]
        db += D.sum(axis=0)
        C += D
    if early is None:
        early, lam_early = steps, S["lam0"] + dlam
    return {"lam": S["lam0"] + dlam, "lam_early": lam_early, "early_steps": early, "alive": alive,
            "uncertain": uncertain, "uncertain_opp": uncertain_opp, "C": C, "q": np.array(margins),
            "late_active": late_active}


def _fixed_point(ctx, d, p, K, n_opp):
    """The opposite-class fixed point u*: no self-interaction, full self-interaction, centre, half."""
    from scipy.optimize import brentq

    res = ctx.prediction(ID, "opposite_residual")
    shift = float(ctx.prediction(ID, "self_shift")(d, p, n_opp))
    ends = [brentq(lambda u, s=s: float(res(u, d, p, K, s)), -1.0 + 1e-12, 0.0) for s in (0.0, shift)]
    return {"none": ends[0], "full": ends[1], "centre": 0.5 * (ends[0] + ends[1]),
            "half": 0.5 * abs(ends[0] - ends[1]), "shift": shift}


def _ratios(lam, rows, cols):
    """rho = lambda_{r,j}/mean_j lambda_{r,j} over ``cols`` for the neurons ``rows``."""
    sub = lam[np.ix_(rows, cols)]
    return sub / sub.mean(axis=1, keepdims=True)


def _predict(ctx, run, steps, response=True):
    """Every prediction of the C1 checks for one run, from sizes, sample and initial weights (cached).

    ``response=False`` skips the linear response of the ratios (their statistical band term is then 0;
    for checks that do not use it).
    """
    key = (ID, "predict", run.config, run.init_seed, steps, response)
    if key in ctx.cache:
        return ctx.cache[key]
    if not response and (ID, "predict", run.config, run.init_seed, steps, True) in ctx.cache:
        return ctx.cache[(ID, "predict", run.config, run.init_seed, steps, True)]
    cfg = run.config
    S = _sample_parts(run)
    gd = _reduced_gd(ctx, run, S, steps)
    labels, d, k = run.cluster_labels, S["d"], cfg.k
    clusters = run.train.clusters
    # linear response: every own point of the first own cluster of each class shifted by RESPONSE_SHIFT
    first = np.isin(clusters, [np.flatnonzero(labels == s)[0] for s in (1, -1)])
    gd_shift = _reduced_gd(ctx, run, S, steps, shift=np.where(first, RESPONSE_SHIFT, 0.0)) if response else gd
    M = S["own"].shape[0]
    out = {"alive": gd["alive"], "early_steps": gd["early_steps"], "early_lam": gd["lam_early"],
           "final_lam": gd["lam"], "late_active": gd["late_active"], "C": gd["C"],
           "uncertain_opp": gd["uncertain_opp"], "uncertain": gd["uncertain"],
           "rho": np.full((M, k), np.nan), "rho_bound": np.zeros((M, k)), "rho_sigma": np.zeros((M, k)),
           "lam_bar": np.zeros(M), "classes": {}}
    lam_class = {}
    for si, s in enumerate((1, -1)):
        J, Jo = np.flatnonzero(labels == s), np.flatnonzero(labels != s)
        p, K = J.size, Jo.size
        fp = _fixed_point(ctx, d, p, K, float(S["counts"][Jo].mean()))
        R = np.flatnonzero((S["cls"] == s) & gd["alive"])
        if R.size == 0:
            out["classes"][s] = {"p": p, "K": K, "fixed_point": fp, "neurons": R, "J": J, "Jo": Jo,
                                 "q_T": 0.0, "g_T": 0.5, "response": 0.0, "sigma_margin": np.zeros(p)}
            lam_class[s] = np.zeros(p)
            continue
        rho = _ratios(gd["lam"], R, J)
        # (one own feature: rho = 1 identically, nothing responds)
        response = (float(np.mean((_ratios(gd_shift["lam"], R, J) - rho)[:, 0])) / RESPONSE_SHIFT / (1 - 1 / p)
                    if p > 1 else 0.0)
        lam_T = gd["lam"][np.ix_(R, J)]
        q_T = float(gd["q"][-1, si]) if steps else 0.0
        # the dropped off-diagonal noise on cluster j's mean pre-activation: the other points' weights give
        # <sum_{i' not in j} c_i' xi_i', mean_{i in j} xi_i>, variance (d - k) sum_{i' not in j} c^2/n_j; the
        # pairs inside the cluster (1/n_j) sum_{i < i'} (c_i + c_i') <xi_i, xi_i'>, variance 2 (d - k) cbar_j^2
        Cm = np.abs(gd["C"][:, R]).mean(axis=1)
        c2 = float(np.sum(Cm ** 2))
        c2_in = np.array([np.sum(Cm[clusters == j] ** 2) for j in J])
        cbar = np.array([Cm[clusters == j].mean() if np.any(clusters == j) else 0.0 for j in J])
        q_j = np.maximum(d * lam_T.mean(axis=0) * (R.size / cfg.m), 1e-300)
        var = (d - k) * ((c2 - c2_in) / S["counts"][J] + 2 * cbar ** 2)
        sig = np.sqrt(var) * (R.size / cfg.m) / q_j
        coeff = np.eye(p) - 1.0 / p
        rho_sigma = abs(response) * np.sqrt((coeff ** 2) @ sig ** 2)
        # the dropped noise also moves the opposite points near the activity threshold z* (density
        # phi(z*)): E|N(0, s)| = s sqrt(2/pi) flips n_j' phi(z*) sqrt(2/pi) s/sigma_z of them per opposite
        # cluster, each carrying |u| lambda/N_act of the pull, whose projection on an own feature is
        # N(0, 1/d) (its noise along mu_j); summed over the K clusters, relative to lambda
        from scipy.special import ndtri

        u_c = fp["centre"]
        n_o = S["counts"][Jo]
        sigma_z = np.sqrt(d * (p + K * u_c ** 2)) * lam_T.mean()
        flips = n_o * np.exp(-0.5 * ndtri(1 + u_c) ** 2) / np.sqrt(2 * np.pi) * np.sqrt(2 / np.pi) \
            * np.sqrt((d - k) * c2) / sigma_z
        active = np.maximum(-u_c * n_o, 1.0)
        flip_sigma = abs(u_c) * np.sqrt(np.sum(flips / active ** 2) / d)
        rho_sigma = np.sqrt(rho_sigma ** 2 + flip_sigma ** 2)
        # L_rj: the most the uncertain points can move lambda_rj (directly, and through the class margin q_j
        # that the other neurons' lag lowers: each alive neuron regains at most 1/m of it), relative to
        # lambda_bar_r; rho_rj = lambda_rj/lambda_bar_r then moves by at most L_rj + (rho_rj/p) sum_j L_rj
        U = gd["uncertain"][np.ix_(R, J)]
        L = (U + U.sum(axis=0, keepdims=True) / cfg.m) / lam_T.mean(axis=1, keepdims=True)
        lag = L + rho / p * L.sum(axis=1, keepdims=True)
        out["rho"][np.ix_(R, J)] = rho
        out["rho_bound"][np.ix_(R, J)] = lag
        out["rho_sigma"][np.ix_(R, J)] = np.broadcast_to(rho_sigma, rho.shape)
        out["lam_bar"][R] = lam_T.mean(axis=1)
        lam_class[s] = lam_T.mean(axis=0)
        out["classes"][s] = {"p": p, "K": K, "fixed_point": fp, "neurons": R, "q_T": q_T,
                             "g_T": 1.0 / (1.0 + np.exp(q_T)), "response": response, "sigma_margin": sig,
                             "J": J, "Jo": Jo}
    _noise_share_prediction(ctx, run, S, out, lam_class)
    ctx.cache[key] = out
    return out


def _noise_share_prediction(ctx, run, S, out, lam_class):
    """eps_r^2 predicted per neuron: own-class noise, initial noise, opposite bracket, weight spread."""
    from scipy.special import ndtri

    cfg = run.config
    d, M = S["d"], S["own"].shape[0]
    tails = ctx.prediction(ID, "tail_moments")
    for key in ("eps_own", "eps_lo", "eps_hi", "eps_spread", "opp2_lo", "opp2_hi", "u_rate"):
        out[key] = np.full(M, np.nan)
    out["opp_ratio"] = np.full((M, S["own"].shape[1]), np.nan)
    for s in (1, -1):
        c = out["classes"][s]
        J, Jo, p, K, fp = c["J"], c["Jo"], c["p"], c["K"], c["fixed_point"]
        counts, counts_o = S["counts"][J], S["counts"][Jo]
        # the active opposite points' margin is lowered by the neuron itself, by Delta = sigma_z (Z - z*),
        # sigma_z = sqrt(d (p + K u^2)) lambda_bar: their g is larger by at most e^Delta - 1 (g(q - D) <= e^D g(q))
        P = -fp["centre"]
        z_star = float(ndtri(1.0 - P))
        m1, m2 = (float(x) for x in np.asarray(tails(z_star), float).ravel())
        u_small, u_big = sorted((abs(fp["none"]), abs(fp["full"])))
        for r in c["neurons"]:
            rho = out["rho"][r, J]
            lbar = out["lam_bar"][r]
            vec = S["W0perp"][r] + (rho * lbar / counts) @ S["Xi"][J]   # initial + own points at lambda_j/n_j
            a = np.sqrt(d * (p + K * fp["centre"] ** 2)) * lbar
            rate_factor = float(np.expm1(a * m1 + 0.5 * a ** 2 * m2))
            other = lam_class[-s].mean() / lbar if lam_class[-s].size else 0.0
            # an opposite pair keeps what the early phase left (inactive: no pull, only its points' noise
            # projections) until lambda_j'/Lambda has decayed to u*, then follows the fixed point:
            # v = min(early/Lambda_T, u*) (both negative). A pair that stays inactive after the early phase in
            # the reduced GD keeps its reduced-GD value (the early residue and the noise projections)
            early = out["early_lam"][r, Jo] / lbar
            stays = ~out["late_active"][r, Jo]
            kept = out["final_lam"][r, Jo] / lbar
            dv = out["uncertain_opp"][r, Jo] / lbar        # the reduced GD's error through uncertain points
            v_lo = np.where(stays, np.sign(kept) * np.maximum(np.abs(kept) - dv, 0.0), np.minimum(early, -u_small))
            v_hi = np.where(stays, np.sign(kept) * (np.abs(kept) + dv), np.minimum(early, -u_big) * (1 + rate_factor))
            out["opp_ratio"][r, Jo] = np.where(stays, kept, np.minimum(early, fp["centre"]))
            # the opposite pairs that stay inactive carry the early phase's point weights (reduced GD): exactly
            # their sample noise; the others are bracketed
            stay_pts = np.isin(run.train.clusters, Jo[stays])
            vec = vec + out["C"][stay_pts, r] @ S["Xp"][stay_pts]
            out["eps_own"][r] = float(vec @ vec) / (d * p * lbar ** 2)
            go = ~stays
            lo = float(np.sum(v_lo[go] ** 2 / counts_o[go])) / p                  # Cauchy-Schwarz, all n_j' points
            hi = float(np.sum(np.abs(v_hi[go]) * other / counts_o[go])) / p      # every active point at full weight
            # kept pairs: sum c^2 moves by at most (2 max|c| + max|dc|) sum|dc| <= 3 c_max U, c_max = other/n_j'
            kept_err = float(np.sum(3 * other / counts_o[stays] * dv[stays])) / p
            lo, hi = lo - kept_err, hi + kept_err
            out["eps_lo"][r], out["eps_hi"][r] = out["eps_own"][r] + lo, out["eps_own"][r] + hi
            # within-cluster spread of the points' weights: the point margins spread by q sqrt(sum rho^2/d),
            # i.e. g by at most (1 - g) of that; the first step's 0/1 activity adds (eta/(2nm))/(lambda/n_j)/2
            cv_g = (1 - c["g_T"]) * c["q_T"] * np.sqrt(np.sum(rho ** 2) / d)
            cv_early = np.max(cfg.eta / (2 * cfg.n * cfg.m) / (rho * lbar / counts)) / 2
            out["eps_spread"][r] = out["eps_own"][r] * (cv_g ** 2 + cv_early ** 2)
            out["opp2_lo"][r] = float(np.sum(v_lo ** 2)) / p
            out["opp2_hi"][r] = float(np.sum(v_hi ** 2)) / p
            out["u_rate"][r] = u_big * rate_factor


def _measure_run(run):
    """What the trained net is, per neuron: ratios, noise share, score (from the weights alone)."""
    from featavg.simulate import neuron_classes

    W, F, labels = run.network.W, run.features, run.cluster_labels
    dd = float(np.mean(np.einsum("jd,jd->j", F, F)))
    lam = W @ F.T / dd
    cls = neuron_classes(run.network, labels)
    own = cls[:, None] == labels[None, :]
    lbar = (lam * own).sum(axis=1) / own.sum(axis=1)
    E = F / np.linalg.norm(F, axis=1, keepdims=True)
    eta = W - (W @ E.T) @ E
    targets = np.stack([F[labels == s].sum(axis=0) for s in cls])
    score = np.einsum("rd,rd->r", W, targets) / (np.linalg.norm(W, axis=1) * np.linalg.norm(targets, axis=1))
    return {"rho": lam / lbar[:, None], "own": own, "lam_bar": lbar,
            "eps2": np.einsum("rd,rd->r", eta, eta) / (dd * own.sum(axis=1) * lbar ** 2), "score": score}


def _pairs(ctx, runs, steps=None, response=True):
    """(measured, predicted) of every run; ``steps`` the GD steps asked for (default: the paper's)."""
    steps = ctx.paper_config("binary").steps if steps is None else steps
    return [(_measure_run(run), _predict(ctx, run, steps, response)) for run in runs]


def _regime_note(pairs):
    dead = sum(int((~pr["alive"]).sum()) for _, pr in pairs)
    total = sum(pr["alive"].size for _, pr in pairs)
    return {"neurons": total, "dead_at_init": dead,
            "early_steps": [int(pr["early_steps"]) for _, pr in pairs]}


def _scores(ctx, pr, opp2=None, eps2=None, cv2=None):
    """The predicted averaging score of each alive neuron from its parts (``score_from_parts``)."""
    parts = ctx.prediction(ID, "score_from_parts")
    alive = pr["alive"]
    rho = np.where(pr["rho"] == pr["rho"], pr["rho"], 0.0)
    own_count = np.sum(pr["rho"] == pr["rho"], axis=1)
    mean = np.sum(rho, axis=1) / np.maximum(own_count, 1)
    cv2 = (np.sum(rho ** 2, axis=1) / np.maximum(own_count, 1) - mean ** 2) if cv2 is None else cv2
    opp2 = 0.5 * (pr["opp2_lo"] + pr["opp2_hi"]) if opp2 is None else opp2
    eps2 = 0.5 * (pr["eps_lo"] + pr["eps_hi"]) if eps2 is None else eps2
    return np.asarray(parts(cv2, opp2, eps2), float)[alive], cv2


def _measure_noise_share(ctx):
    runs = ctx.paper_runs("binary", _seed_count(ctx))
    pairs = _pairs(ctx, runs)
    meas, pred, half, spread, base = [], [], [], [], []
    for (me, pr), run in zip(pairs, runs):
        a = pr["alive"]
        meas.append(float(me["eps2"][a].mean()))
        pred.append(float(0.5 * (pr["eps_lo"] + pr["eps_hi"])[a].mean()))
        half.append(float(0.5 * (pr["eps_hi"] - pr["eps_lo"])[a].mean()))
        spread.append(float(pr["eps_spread"][a].mean()))
        base.append(float(ctx.prediction(ID, "noise_share_balanced")(run.config.k, run.config.n)))
    meas, pred = np.array(meas), np.array(pred)
    R = len(runs)
    _, _, diff_hw = mean_interval(meas - pred)
    m_mean, _, m_hw = mean_interval(meas)
    predicted = float(pred.mean())
    band = Band(predicted, (
        Term(f"t({R - 1} dof) x standard error of the mean difference measured - predicted over {R} seeds "
             "(the own-class noise is the sample's, so its chi-square fluctuation cancels)", diff_hw, "stat"),
        Term("active opposite points' noise: half the bracket (1/p) sum u*^2/n_j' .. (1/p) sum |u*| e^Delta/n_j' "
             "(Cauchy-Schwarz .. every active point at full weight)", float(np.mean(half))),
        Term("within-cluster spread of the points' weights (g over point margins spread by q sqrt(p/d); "
             "the first step's 0/1 activity): eps_own CV^2", float(np.mean(spread))),
    ))
    return Outcome(predicted, float(meas.mean()), band, interval=(m_mean - m_hw, m_mean + m_hw),
                   seeds=[r.config.seed for r in runs], baseline=float(np.mean(base)),
                   rivals={"2k/n (noise of both classes)": 2 * predicted, "k/(2n)": 0.5 * predicted,
                           "0 (no noise share)": 0.0},
                   details={"per_seed": meas, "per_seed_predicted": pred, "regime": _regime_note(pairs)},
                   config={"runs": runs[0].config.to_dict()})


NOISE_SHARE = Check(
    "C1.feature_averaging.noise_share",
    "Noise share eps^2 = ||eta||^2/||feature part||^2: the sample's own-class noise at the predicted weights "
    "lambda_j/n_j per point (k/n) + initial noise + active opposite points",
    "binary labels, paper setting (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5), reduced engine, 8 "
    "independent seeds (quick 4); prediction from the sample and the initial weights (not the trained net); "
    "baseline k/n from the sizes", _measure_noise_share,
    rivals=(Rival("2k/n (noise of both classes)", "noise accumulated from every training point, not only the own class"),
            Rival("k/(2n)", "half the noise (e.g. points active half of the time)"),
            Rival("0 (no noise share)", "the infinite-n limit")),
    faults=("decouple",))


def _score_bounds(ctx, pr):
    """Half-widths of the predicted score from the brackets of eps^2 and of the opposite part."""
    lo, _ = _scores(ctx, pr, opp2=pr["opp2_lo"], eps2=pr["eps_lo"])
    hi, _ = _scores(ctx, pr, opp2=pr["opp2_hi"], eps2=pr["eps_hi"])
    return 0.5 * np.abs(lo - hi)


def _score_ratio_error(ctx, pr, z=None):
    """The predicted ratios' error (C1.cos_own_feature's band at ``z``, default quantile()) moved into the score.

    ``CV^2 = mean (rho - 1)^2`` moves by at most ``2 sqrt(CV^2) dev + dev^2`` when every ratio moves by at
    most ``dev``, and the score ``(1 + CV^2 + ...)^(-1/2)`` by ``s^3/2`` times that.
    """
    sc, cv2 = _scores(ctx, pr)
    a = pr["alive"]
    z = quantile() if z is None else z
    dev = np.nanmax(np.where(np.isnan(pr["rho"]), np.nan, pr["rho_bound"] + z * pr["rho_sigma"])[a],
                    axis=1)
    return 0.5 * sc ** 3 * (2 * np.sqrt(cv2[a]) * dev + dev ** 2)


def score_band(ctx, run, steps=None, z=None):
    r"""Predicted averaging score of each alive neuron of one binary run, and its error budget.

    For a single run (used by :mod:`featavg.testing`): every part from the reduced GD of
    :func:`_reduced_gd` (C1's decomposition with orthogonal training noises), without closed-form
    brackets: :math:`\varepsilon_r^2 = \|w_r(0)^\perp + \sum_i c_{ir}\xi_i^\perp\|^2/(d p \bar\lambda_r^2)`
    with the reduced GD's point weights and the sample's noise vectors, the opposite part from its
    opposite coefficients, CV^2 from its own ratios. Budget (added linearly, then through
    ``score_from_parts``): the points of uncertain activity move ``sum c^2`` by at most
    ``3 c_max U`` and each opposite ratio by ``U/lambda``; the dropped off-diagonal noise moves every
    point weight's ``g`` by a relative ``3 (1 - g) sigma`` at most (``sigma`` its standard deviation on
    a margin), i.e. ``eps^2`` by ``3 (1 - g) sigma`` of itself and each coefficient by that times
    ``sum_i |c_i proj_i|``; the ratios' error (C1.cos_own_feature's band at ``z``, default ``quantile()``) moves CV^2.

    Returns
    -------
    predicted, halfwidth : ndarray, shape (alive neurons,)
    """
    steps = run.config.steps if steps is None else steps
    pr = _predict(ctx, run, steps)
    S = _sample_parts(run)
    parts = ctx.prediction(ID, "score_from_parts")
    d, labels, clusters = S["d"], run.cluster_labels, run.train.clusters
    alive = np.flatnonzero(pr["alive"])
    pred, half = [], []
    ratio_err = _score_ratio_error(ctx, pr, z)
    for idx, r in enumerate(alive):
        s = S["cls"][r]
        J, Jo = np.flatnonzero(labels == s), np.flatnonzero(labels != s)
        p = J.size
        lam = pr["final_lam"][r]
        lbar = float(lam[J].mean())
        rho = lam[J] / lbar
        vec = S["W0perp"][r] + pr["C"][:, r] @ S["Xp"]
        eps2 = float(vec @ vec) / (d * p * lbar ** 2)
        v = lam[Jo] / lbar
        o2 = float(np.sum(v ** 2)) / p
        cv2 = float(np.var(rho))
        U = pr["uncertain"][r] + pr["uncertain_opp"][r]
        c_max = np.array([np.max(np.abs(pr["C"][clusters == j, r]), initial=0.0) for j in range(labels.size)])
        q_T = pr["classes"][s]["q_T"]
        g_T = 1.0 / (1.0 + np.exp(q_T))
        sigma = np.sqrt((d - S["lam0"].shape[1]) * np.sum(pr["C"][:, r] ** 2))
        err_eps = 3 * float(np.sum(c_max * U)) / (p * lbar ** 2) + 3 * (1 - g_T) * sigma * eps2
        dv = (pr["uncertain_opp"][r, Jo]
              + 3 * (1 - g_T) * sigma * (np.abs(pr["C"][:, r]) @ np.abs(S["proj"][:, Jo]))) / lbar
        err_o2 = float(np.sum(2 * np.abs(v) * dv + dv ** 2)) / p
        sc = float(parts(cv2, o2, eps2))
        pred.append(sc)
        half.append(0.5 * sc ** 3 * (err_eps + err_o2) + float(ratio_err[idx]))
    return np.array(pred), np.array(half)


def _measure_cos_class_sum(ctx):
    runs = ctx.paper_runs("binary", _seed_count(ctx))
    pairs = _pairs(ctx, runs)
    meas, pred, half, ratio_err, rivals = [], [], [], [], {"no_opp": [], "noise_only": []}
    for (me, pr), run in zip(pairs, runs):
        a = pr["alive"]
        sc, _ = _scores(ctx, pr)
        meas.append(float(me["score"][a].mean()))
        pred.append(float(sc.mean()))
        half.append(float(_score_bounds(ctx, pr).mean()))
        ratio_err.append(float(np.mean(_score_ratio_error(ctx, pr))))
        rivals["no_opp"].append(float(_scores(ctx, pr, opp2=np.zeros_like(pr["opp2_lo"]))[0].mean()))
        rivals["noise_only"].append(float(np.mean(
            ctx.prediction(ID, "cos_class_sum")(np.sqrt(ctx.prediction(ID, "noise_share_balanced")(
                run.config.k, run.config.n))))))
    meas, pred = np.array(meas), np.array(pred)
    R = len(runs)
    _, _, diff_hw = mean_interval(meas - pred)
    m_mean, _, m_hw = mean_interval(meas)
    predicted = float(pred.mean())
    band = Band(predicted, (
        Term(f"t({R - 1} dof) x standard error of the mean difference measured - predicted over {R} seeds",
             diff_hw, "stat"),
        Term("brackets of eps^2 and of the opposite part (1/p) sum rho^2 (self-interaction of the active "
             "opposite points), propagated: half the score range", float(np.mean(half))),
        Term("error of the predicted between-cluster spread CV^2 (C1.cos_own_feature's band), propagated",
             float(np.mean(ratio_err))),
    ), limits=(-1, 1))
    p_own = int(pairs[0][1]["classes"][1]["p"])
    return Outcome(predicted, float(meas.mean()), band, interval=(m_mean - m_hw, m_mean + m_hw),
                   seeds=[r.config.seed for r in runs], baseline=float(np.mean(rivals["noise_only"])),
                   rivals={"1/sqrt(1 + k/n) (noise share only)": float(np.mean(rivals["noise_only"])),
                           "no opposite-class coefficients": float(np.mean(rivals["no_opp"])),
                           "1/sqrt(|J_s|) (decoupled)": 1 / np.sqrt(p_own), "1 (no noise share)": 1.0},
                   details={"per_seed": meas, "per_seed_predicted": pred, "regime": _regime_note(pairs)},
                   config={"runs": runs[0].config.to_dict()})


COS_CLASS_SUM = Check(
    "C1.feature_averaging.cos_class_sum",
    "Averaging score cos(w_{s,r}, sum_{J_s} mu_j) = 1/sqrt(1 + CV^2 + (1/p) sum_{J_-s} rho^2 + eps^2), each part "
    "predicted",
    "binary labels, paper setting, 8 independent seeds (quick 4); parts from the sample and the initial weights "
    "(spread CV^2: C1.cos_own_feature; opposite: C1.opposite_class; eps^2: C1.noise_share); baseline "
    "1/sqrt(1 + k/n) from the sizes", _measure_cos_class_sum,
    rivals=(Rival("1/sqrt(1 + k/n) (noise share only)", "the averaging score with the k/n noise share and nothing else"),
            Rival("no opposite-class coefficients", "opposite components taken as zero ('at most about zero')"),
            Rival("1/sqrt(|J_s|) (decoupled)", "a decoupled net: each neuron owns one feature"),
            Rival("1 (no noise share)", "the infinite-n limit")),
    faults=("decouple", "closed_form"))


def _measure_cos_own(ctx):
    runs = ctx.paper_runs("binary", _seed_count(ctx))
    pairs = _pairs(ctx, runs)
    meas, pred, sigma, bound, prop, logo = [], [], [], [], [], []
    for (me, pr), run in zip(pairs, runs):
        sel = me["own"] & pr["alive"][:, None]
        meas.append(me["rho"][sel])
        pred.append(pr["rho"][sel])
        sigma.append(pr["rho_sigma"][sel])
        bound.append(pr["rho_bound"][sel])
        counts = np.bincount(run.train.clusters, minlength=run.config.k).astype(float)
        rel = np.zeros_like(pr["rho"])
        lg = np.zeros_like(pr["rho"])
        for c in pr["classes"].values():
            J = c["J"]
            rel[np.ix_(c["neurons"], J)] = counts[J] / counts[J].mean()
            # deep late phase: q_j - q_i -> log(n_j/n_i) (C7.equal_margins_attract), so
            # rho_j = 1 + (log n_j - mean log n)/q_T
            lg[np.ix_(c["neurons"], J)] = 1 + (np.log(counts[J]) - np.log(counts[J]).mean()) / c["q_T"]
        prop.append(rel[sel])
        logo.append(lg[sel])
    meas, pred, sigma, bound = (np.concatenate(x) for x in (meas, pred, sigma, bound))
    z_b = _bonferroni(meas.size)
    band = Band(pred, (
        Term(f"z = {z_b:.3g} (Bonferroni over {meas.size} pairs) x the linear response of rho to each own "
             "cluster's mean dropped off-diagonal noise sqrt((d - k) sum_i c_i^2/n_j), relative to its margin; "
             "(+) the opposite points whose activity that noise flips, their pull projected on mu_j",
             z_b * sigma, "stat"),
        Term("points of uncertain activity (pre-activation within z_B of the dropped off-diagonal noise): their "
             "weight times their projections, through the pair and the class margin", bound),
    ))
    return Outcome(pred, meas, band, seeds=[r.config.seed for r in runs], baseline=np.ones_like(pred),
                   rivals={"1 (no count offsets: each cosine = score/sqrt(|J_s|))": np.ones_like(pred),
                           "n_j/mean n (no margin feedback)": np.concatenate(prop),
                           "deep-late log offsets 1 + (log n_j - mean log n)/q": np.concatenate(logo)},
                   details={"pairs": int(meas.size), "rms_error": float(np.sqrt(np.mean((meas - pred) ** 2))),
                            "max_deviation_over_halfwidth": float(np.max(np.abs(meas - pred) / band.halfwidth)),
                            "rms_offset": float(np.sqrt(np.mean((meas - 1) ** 2))),
                            "regime": _regime_note(pairs)},
                   config={"runs": runs[0].config.to_dict()})


COS_OWN_FEATURE = Check(
    "C1.feature_averaging.cos_own_feature",
    "Each cos(w_{s,r}, mu_j), j in J_s, over its exact-averaging value cos(w, sum mu)/sqrt(|J_s|) "
    "(= lambda_j/mean lambda): count offsets and early residue, feature by feature",
    "binary labels, paper setting, 8 seeds (quick 4), every own pair of every neuron alive at initialisation; "
    "prediction from the sample's counts and projections and the initial weights (early phase in the feature span, "
    "then the count-weighted margin map, with the training noises taken orthogonal); baseline 1 (exact averaging)",
    _measure_cos_own,
    rivals=(Rival("1 (no count offsets: each cosine = score/sqrt(|J_s|))", "exact averaging, feature by feature"),
            Rival("n_j/mean n (no margin feedback)", "coefficients growing at their cluster's rate without the "
                  "equalisation of margins"),
            Rival("deep-late log offsets 1 + (log n_j - mean log n)/q", "the q -> infinity limit of the offsets "
                  "(C7.equal_margins_attract) at the final margin")),
    faults=("decouple", "untrained"))


def _measure_opposite(ctx):
    runs = ctx.paper_runs("binary", _seed_count(ctx))
    pairs = _pairs(ctx, runs)
    meas, pred, half, rate, early = [], [], [], [], []
    for me, pr in pairs:
        sel = ~me["own"] & pr["alive"][:, None]
        meas.append(float(me["rho"][sel].mean()))
        cs = pr["classes"]
        w = [np.sum(sel[c["neurons"]]) for c in cs.values()]
        # per pair min(early/Lambda_T, u*): u* unless the early phase left a larger pull (not at this setting)
        pred.append(float(np.mean(pr["opp_ratio"][sel])))
        half.append(float(np.average([c["fixed_point"]["half"] for c in cs.values()], weights=w)))
        rate.append(float(np.nanmean(pr["u_rate"][pr["alive"]])))
        # the early phase alone: the opposite pulls of the first steps, over the final own coefficient
        early.append(float(np.mean((pr["early_lam"] / pr["lam_bar"][:, None])[sel])))
    meas, pred = np.array(meas), np.array(pred)
    R = len(runs)
    m_mean, _, m_hw = mean_interval(meas)
    predicted = float(pred.mean())
    band = Band(predicted, (
        Term(f"t({R - 1} dof) x standard error of the mean over {R} seeds (each the mean over the opposite pairs)",
             m_hw, "stat"),
        Term("self-interaction of the active opposite points (its own weight lowers its pre-activation by "
             "0 .. sqrt(d/p)/n_j' sigma): half the fixed-point bracket", float(np.mean(half))),
        Term("active points' larger loss derivative (their margin is lowered by the neuron itself): "
             "|u*| (e^Delta - 1)", float(np.mean(rate))),
    ))
    return Outcome(predicted, float(meas.mean()), band, interval=(m_mean - m_hw, m_mean + m_hw),
                   seeds=[r.config.seed for r in runs], baseline=predicted,
                   rivals={"0 (opposite class left at zero)": 0.0,
                           "early-phase pull only (C7.early_gradient, then frozen)": float(np.mean(early)),
                           "+|u*| (sign flipped: a positive leak)": -predicted},
                   details={"per_seed": meas, "per_seed_predicted": pred, "regime": _regime_note(pairs),
                            "fixed_point": pairs[0][1]["classes"][1]["fixed_point"]},
                   config={"runs": runs[0].config.to_dict()})


OPPOSITE = Check(
    "C1.feature_averaging.opposite_class",
    "Opposite-class ratio <w, mu_j'>/<w, mu_j> = u*, the self-similar fixed point u* = -P(active | u*)",
    "binary labels, paper setting, 8 seeds (quick 4); mean over the opposite pairs of neurons alive at "
    "initialisation; u* from the sizes (d, |J_s|, |J_-s|, n_j'); per pair min(early residue/Lambda_T, u*), "
    "which is u* here", _measure_opposite,
    rivals=(Rival("0 (opposite class left at zero)", "'at most about zero' read as zero"),
            Rival("early-phase pull only (C7.early_gradient, then frozen)", "the opposite components the first "
                  "steps leave, no late-phase pull"),
            Rival("+|u*| (sign flipped: a positive leak)", "neurons that also grow on the opposite class")),
    faults=("decouple",))


#: training-set sizes of the finite-n rate (the paper setting otherwise; n = 1000 is the paper's);
#: quick mode drops n = 500 (the costliest of the runs that no other check shares)
RATE_NS = (125, 250, 500, 1000)
RATE_NS_QUICK = (125, 250, 1000)


def _measure_rate(ctx):
    """1 - averaging score at each n against its prediction: the k/n parts (eps^2, the count
    offsets' CV^2) and the n-independent floor (opposite-class part, early residue)."""
    R = _seed_count(ctx)
    ns = RATE_NS_QUICK if ctx.quick else RATE_NS
    N = len(ns)
    meas, pred, hw, half, floor, seeds = [], [], [], [], [], []
    for nn in ns:
        runs = [ctx.run(ctx.paper_config("binary", s, n=nn)) for s in ctx.seeds(R)]
        pairs = _pairs(ctx, runs, response=False)
        mv, pv, hv, fv = [], [], [], []
        for me, pr in pairs:
            a = pr["alive"]
            sc, _ = _scores(ctx, pr)
            mv.append(float(1 - me["score"][a].mean()))
            pv.append(float(1 - sc.mean()))
            hv.append(float(_score_bounds(ctx, pr).mean()))
            zero = np.zeros_like(pr["eps_lo"])
            fl, _ = _scores(ctx, pr, eps2=zero, cv2=zero)
            fv.append(float(1 - fl.mean()))
        mv, pv = np.array(mv), np.array(pv)
        se = float(np.std(mv - pv, ddof=1) / np.sqrt(R))
        meas.append(float(mv.mean()))
        pred.append(float(pv.mean()))
        hw.append(_t_joint(R - 1, N) * se)
        half.append(float(np.mean(hv)))
        floor.append(float(np.mean(fv)))
        seeds = [r.config.seed for r in runs]
    meas, pred, floor = np.array(meas), np.array(pred), np.array(floor)
    part = pred - floor
    band = Band(pred, (
        Term(f"t({R - 1} dof, Bonferroni over {N} n) x standard error of the mean difference measured - predicted "
             f"over {R} seeds at each n", np.array(hw), "stat"),
        Term("brackets of eps^2 and of the opposite part, propagated (as C1.cos_class_sum)", np.array(half)),
    ))
    ns = np.array(ns, float)
    k_over_n = ctx.prediction(ID, "noise_share_balanced")(ctx.paper_config("binary").k, ns)
    return Outcome(pred, meas, band, seeds=seeds, baseline=floor + 0.5 * k_over_n,
                   rivals={"2k/n (twice the finite-n part)": floor + 2 * part,
                           "k/(2n) (half the finite-n part)": floor + 0.5 * part,
                           "sqrt(k/n) (finite-n part ~ n^-1/2, matched at n = 1000)":
                               floor + part[-1] * np.sqrt(ns[-1] / ns),
                           "0 (no finite-n part)": floor},
                   details={"n": ns.astype(int).tolist(), "floor": floor, "finite_n_part": part},
                   config={"runs": ctx.paper_config("binary").to_dict(), "n": ns.astype(int).tolist()})


RATE = Check(
    "C1.feature_averaging.finite_n_rate",
    "Rate: 1 - cos(w_{s,r}, sum_{J_s} mu_j) at each n = predicted k/n parts (eps^2, count offsets) + n-independent floor",
    "binary labels, paper setting with n = 125, 250, 500, 1000, 8 seeds each (quick: n = 125, 250, 1000, 4 seeds); "
    "prediction per seed from the sample and the initial weights", _measure_rate,
    rivals=(Rival("2k/n (twice the finite-n part)", "a finite-n coefficient twice too large"),
            Rival("k/(2n) (half the finite-n part)", "a finite-n coefficient half too small"),
            Rival("sqrt(k/n) (finite-n part ~ n^-1/2, matched at n = 1000)", "a deficit of the order of the noise "
                  "norm, not its square"),
            Rival("0 (no finite-n part)", "a deficit independent of n")),
    faults=("decouple",))


def _finite_n_dynamics():
    r"""SymPy steps and predictions of the finite-n averaging dynamics (appended to derive()).

    SymPy only (it lives here, below the evidence marker, to keep derive()'s own steps untouched):

    * the weight a point adds per step, ``eta g(q)/(n m)``, and the first step at ``f = 0``;
    * the count-weighted margin map (C7.margin_ode with cluster weights ``pi_j = n_j/n``);
    * the linearised count offsets of the margins and their deep-late limit;
    * the opposite-class fixed point ``u* = -P(u*)`` and the self-interaction shift;
    * the averaging score as the sum of its parts, and the own-class noise share with the
      cluster weights ``lambda_j/n_j`` per point;
    * the tail moments of the standard normal the bounds use.
    """
    from featavg.theory import Inner
    from featavg.theory._common import K, Phi, explicit, g, logistic, m, n, phi, sums_equal

    q, qb, q1, x1, dl, u, z = sp.symbols("q qbar q_1 x_1 delta u z", real=True)
    eta = sp.Symbol("eta", positive=True)
    pi_ = sp.Symbol("pi_j", positive=True)
    shift = sp.Symbol("s", nonnegative=True)
    Lam = sp.Symbol("Lambda", positive=True)
    a = sp.Symbol("a", nonnegative=True, integer=True)
    y_s = sp.Symbol("y_i s", real=True)
    w1, x_, b1 = sp.symbols("w x b", real=True)
    i = sp.Symbol("i", integer=True, positive=True)

    # (1) one point's weight per step: -eta dL/dw for an active neuron of f = s (w x + b)/m
    f1 = sp.Symbol("s", real=True) * (w1 * x_ + b1) / m
    yy = sp.Symbol("y", real=True)
    update = -eta * sp.diff(logistic(yy * f1) / n, w1)
    weight = eta * g(q) / (n * m)
    first_step = sp.Sum(eta * g(0) / (n * m), (i, 1, a))

    # (2) count-weighted margin map, for every m and |J_s| (P clusters): q_j = (1/m) sum_r (sqrt(d) u_rj + b_r)
    P_ = sp.Symbol("P", integer=True, positive=True)
    r_, s_, l_, i_, j_ = sp.symbols("r s l i j", integer=True, positive=True)
    U_, B_ = sp.IndexedBase("u", real=True), sp.IndexedBase("b", real=True)
    Qm, PIm = sp.IndexedBase("Q", real=True), sp.IndexedBase("pi", positive=True)  # margins before the step, weights
    ranges = [(s_, 1, m), (l_, 1, P_), (i_, 1, P_), (j_, 1, P_)]
    rate_coeff = eta * pi_ * g(q) / m

    def count_map(st):
        # q_j is linear in (u, b), so one GD step on sum_i pi_i l(q_i) changes it exactly by
        # -eta sum_theta dq_j/dtheta dL/dtheta, dL/dtheta = sum_i pi_i l'(q_i) dq_i/dtheta, l' = -g: that is
        # eta sum_i pi_i g_i K_ij with the kernel K_ij = <grad q_j, grad q_i> = (d delta_ij + 1)/m
        def margin(jj):
            return sp.Sum(sp.sqrt(d) * U_[r_, jj] + B_[r_], (r_, 1, m)) / m

        def grad(jj):
            return (evaluate_sums(sp.diff(margin(jj), U_[s_, l_]), ranges),
                    evaluate_sums(sp.diff(margin(jj), B_[s_]), ranges))

        (gu_j, gb_j), (gu_i, gb_i) = grad(j_), grad(i_)
        kernel = evaluate_sums(sp.Sum(sp.Sum(gu_j * gu_i, (l_, 1, P_)), (s_, 1, m)) + sp.Sum(gb_j * gb_i, (s_, 1, m)),
                               ranges)
        loss_slope = is_zero(sp.diff(logistic(q), q) + g(q))  # l' = -g
        change = evaluate_sums(eta * sp.Sum(PIm[i_] * g(Qm[i_]) * kernel, (i_, 1, P_)), ranges)
        q_now = sp.Symbol("q_j,t")
        stated = st.rhs.xreplace({q_now: Qm[j_], pi_: PIm[j_],
                                  sp.Symbol("Sigma_i pi_i g_i"): sp.Sum(PIm[i_] * g(Qm[i_]), (i_, 1, P_))})
        return isinstance(st, sp.Equality) and loss_slope and sums_equal(Qm[j_] + change, stated)

    # (3) linearised difference mode of the margins about their mean qbar
    x_sol = (dl * (qb + sp.exp(qb) - q1 - sp.exp(q1)) + x1 * (1 + sp.exp(q1))) / (1 + sp.exp(qb))

    # (4) the opposite-class fixed point
    z_over_sigma = (d * u + p + K * u) / sp.sqrt(d * (p + K * u ** 2))
    residual = u + Phi(z_over_sigma - shift)
    jj = sp.Symbol("j", integer=True, positive=True)
    var_sum = sp.Sum(d * Lam ** 2, (jj, 1, p)) + sp.Sum(d * (u * Lam) ** 2, (jj, 1, K))
    P_act = sp.Symbol("P", positive=True)
    lam_opp = sp.Function("lambda_o")

    # (5) the averaging score through its parts
    cv2, o2, e2, lb = sp.symbols("CV^2 o^2 varepsilon^2 lambdabar", nonnegative=True)
    S2 = p * lb ** 2 * (1 + cv2)               # sum_{J_s} lambda_j^2
    cos_parts = d * p * lb / (sp.sqrt(p * d) * sp.sqrt(d * S2 + d * p * lb ** 2 * o2 + e2 * d * p * lb ** 2))
    score_parts = 1 / sp.sqrt(1 + cv2 + o2 + e2)

    # (6) own-class noise share with cluster weights lambda_j/n_j per point
    nj = sp.IndexedBase("n")
    lj = sp.IndexedBase("lambda")
    share = p * sp.Sum(lj[jj] ** 2 / nj[jj], (jj, 1, p))

    # (7) standard normal tail moments: E[Z - z | Z > z], E[(Z - z)^2 | Z > z]
    t_ = sp.Symbol("t", real=True)
    tail1 = phi(z) / Phi(-z) - z
    tail2 = 1 - z * phi(z) / Phi(-z) + z ** 2

    def tails_ok(st):
        ph, Ph = (lambda x: explicit(phi(x))), (lambda x: explicit(Phi(x)))  # written out: SymPy differentiates them
        # antiderivatives: (-phi)' = t phi and (Phi - t phi)' = t^2 phi, both vanishing at +oo, so
        # int_z^oo t phi = ph(z), int_z^oo t^2 phi = z ph(z) + Ph(-z), int_z^oo phi = Ph(-z)
        anti = is_zero(sp.diff(-ph(t_), t_) - t_ * ph(t_)) and \
            is_zero(sp.diff(Ph(t_) - t_ * ph(t_), t_) - t_ ** 2 * ph(t_)) and \
            sp.limit(t_ * ph(t_), t_, sp.oo) == 0 and sp.limit(ph(t_), t_, sp.oo) == 0
        tail = Ph(-z)
        e1 = (ph(z) - z * tail) / tail
        e2_ = (z * ph(z) + tail - 2 * z * ph(z) + z ** 2 * tail) / tail
        stated = {eq.lhs: eq.rhs for eq in st.args if isinstance(eq, sp.Equality)}
        return (anti and len(stated) == 2 and is_zero(e1 - explicit(stated[sp.Symbol("m_1")]))
                and is_zero(e2_ - explicit(stated[sp.Symbol("m_2")])))

    ss = sp.Symbol("s", real=True)

    def point_weight(st):
        # -eta dL/dw of the loss l(y f)/n at an active neuron: eta g(y f) y s x/(n m), with q = y f the margin
        return is_zero(update - st.rhs.xreplace({q: yy * f1, y_s: yy * ss}))

    def opposite_variance(st):
        # <w, xi> = Lambda sum_{J_s} <mu_i, xi> + u Lambda sum_{J_-s} <mu_i, xi>: independent terms of variance
        # d Lambda^2 (own) and d u^2 Lambda^2 (opposite)
        return is_zero(var_sum.doit() - st.rhs)

    def fixed_point(st):
        # the opposite point's pre-activation: mean <w, mu_j'> + b = u Lambda d + (p + K u) Lambda, standard deviation
        # Lambda sqrt(d (p + K u^2)) (the variance step): active with probability Phi(mean/sd - s); self-similarity
        # (u = -P) makes u + Phi(...) vanish; the residual increases in u (u < 1), so its zero is unique
        mean = u * Lam * d + (p + K * u) * Lam
        sd = sp.sqrt(d * Lam ** 2 * (p + K * u ** 2))
        increasing = is_zero(sp.simplify(sp.diff(mean / sd, u) * sp.sqrt(d) * (p + K * u ** 2) ** sp.Rational(3, 2))
                             - p * (d + K - K * u))
        return increasing and is_zero(st.lhs - (u + Phi(mean / sd - shift))) and is_zero(st.rhs)

    cb = sp.IndexedBase("c", real=True)
    Nc = sp.Symbol("N", integer=True, positive=True)
    cs_sum = sp.Sum(cb[i], (i, 1, Nc))

    def cauchy_schwarz(st):
        # sum c_i^2 - (sum c_i)^2/N = sum_i (c_i - cbar)^2 >= 0, cbar = (sum c)/N: for every N
        cbar = sp.Sum(cb[jj], (jj, 1, Nc)) / Nc
        gap = st.gts - st.lts  # the statement says gap >= 0
        return (isinstance(st, (sp.LessThan, sp.GreaterThan)) and sums_equal(gap, sp.Sum((cb[i] - cbar) ** 2, (i, 1, Nc)))
                and bool(((cb[i] - cbar) ** 2).is_nonnegative))

    Sl = sp.Sum(lj[jj], (jj, 1, p))
    ii = sp.Symbol("i", integer=True, positive=True)

    def noise_share(st):
        # ||eta||^2 = d sum_j sum_{i <= n_j} (lambda_j/n_j)^2 (independent training noises, E||xi||^2 = d), over the
        # feature part's d p lambdabar^2, lambdabar = (sum_j lambda_j)/p; equal lambda_j: the mean of 1/n_j
        noise2 = d * sp.Sum(sp.Sum((lj[jj] / nj[jj]) ** 2, (ii, 1, nj[jj])), (jj, 1, p))
        derived_times_sl2 = noise2 * p / d  # eps^2 (sum lambda)^2 = ||eta||^2 / (d p lambdabar^2) (sum lambda)^2
        equal = sp.simplify(st.rhs.xreplace({lj[jj]: 1}).doit() - sp.Sum(1 / nj[jj], (jj, 1, p)) / p)
        return sums_equal(derived_times_sl2, sp.expand(st.rhs * Sl ** 2)) and is_zero(equal)

    eps_sym = sp.Symbol("varepsilon")
    G = notation("g")  # the loss derivative -l', as notation in the prose
    n_j, lam_j, qbar, pibar = sp.Symbol("n_j"), sp.Symbol("lambda_j"), sp.Symbol("qbar"), sp.Symbol("pibar")
    J_s, J_o, mu = sp.Symbol("J_s"), sp.Symbol("J_-s"), sp.Symbol("mu")
    w_, xi, q_jt = sp.Symbol("w"), sp.Symbol("xi"), sp.Symbol("q_j,t")
    steps = (
        Step(Text("a point of margin ", q, " adds ", eta * G(q) / (n * m), " times ",
                  sp.Symbol("y_i") * ss * sp.Symbol("x_i"),
                  " to each neuron active on it"),
             sp.Eq(sp.Symbol("Delta w"), eta * g(q) * y_s * x_ / (n * m), evaluate=False), point_weight),
        Step(Text("first step (", sp.Eq(sp.Symbol("f"), 0, evaluate=False), ", ",
                  sp.Eq(G(0), sp.Rational(1, 2), evaluate=False), "): a pair's coefficient grows by ",
                  eta * sp.Symbol("a_rj") / (2 * n * m), " from its ", sp.Symbol("a_rj"),
                  " active points (C7.early_gradient with the sample's active fraction)"),
             sp.Eq(first_step, eta * a / (2 * n * m), evaluate=False),
             lambda st: is_zero(sp.Sum(eta * g(0) / (n * m), (i, 1, a)).doit() - st.rhs)),
        Step(Text("count-weighted margin map: one GD step on the cluster-weighted risk moves each margin by ",
                  eta / m, " times the weighted loss derivatives (C7.margin_ode with ",
                  sp.Eq(pi_, n_j / n, evaluate=False), "; exact, the margin is linear in the parameters)"),
             sp.Eq(sp.Symbol("q_j,t+1"), q_jt + eta * (d * pi_ * g(q_jt) + sp.Symbol("Sigma_i pi_i g_i")) / m,
                   evaluate=False), count_map),
        Step(Text("linearised offsets: ", sp.Eq(sp.Symbol("x"), sp.Symbol("q_j") - qbar, evaluate=False), " with ",
                  sp.Eq(sp.Symbol("pi_j"), pibar * (1 + dl), evaluate=False), " obeys ",
                  sp.Eq(sp.Derivative(sp.Function("x")(qbar), qbar), dl - (1 - G(qbar)) * sp.Symbol("x"),
                        evaluate=False), "; the solution from ", sp.Eq(sp.Function("x")(q1), x1, evaluate=False)),
             sp.Eq(sp.Symbol("x"), x_sol, evaluate=False),
             lambda st: is_zero(sp.diff(st.rhs, qb) - (dl - (1 - g(qb)) * st.rhs)) and is_zero(st.rhs.subs(qb, q1) - x1)),
        Step(Text("deep late phase: the offset tends to ", dl, " (to first order ", sp.log(n_j / sp.Symbol("nbar")),
                  ", C7.equal_margins_attract)"),
             sp.Eq(sp.Limit(x_sol, qb, sp.oo), dl, evaluate=False),
             lambda st: is_zero(sp.limit(x_sol, qb, sp.oo) - st.rhs)),
        Step(Text("opposite point ", sp.Symbol("mu_j'") + xi, " on ",
                  sp.Eq(w_, Lam * SumOver(mu, sp.Symbol("i"), J_s) + u * Lam * SumOver(mu, sp.Symbol("i"), J_o),
                        evaluate=False), ", ", sp.Eq(sp.Symbol("b"), (p + K * u) * Lam, evaluate=False),
                  ": the variance of ", Inner(w_, xi)),
             sp.Eq(var_sum, d * Lam ** 2 * (p + K * u ** 2), evaluate=False), opposite_variance),
        Step(Text("a self-similar opposite coefficient ", sp.Eq(lam_opp(Lam), u * Lam, evaluate=False),
                  " needs ", sp.Eq(u, -P_act, evaluate=False)),
             sp.Eq(sp.Derivative(lam_opp(Lam), Lam), -P_act, evaluate=False),
             lambda st: sp.solve(sp.Eq(sp.diff(u * Lam, Lam), st.rhs), u) == [-P_act]),
        Step(Text("the opposite fixed point is unique: the residual increases in ", u, " for ",
                  sp.Lt(u, 1, evaluate=False), "; ", sp.Eq(shift, sp.sqrt(d / p) / sp.Symbol("n_j'"), evaluate=False),
                  " for an active point carrying its full weight (its own noise term)"),
             sp.Eq(residual, 0, evaluate=False), fixed_point),
        Step(Text("averaging score from its parts, with ",
                  sp.Eq(sp.Symbol("o") ** 2, SumOver(sp.Symbol("rho_j") ** 2, sp.Symbol("j"), J_o) / p, evaluate=False),
                  " and ", sp.Eq(eps_sym ** 2, Norm(sp.Symbol("eta")) ** 2 / (d * p * lb ** 2), evaluate=False)),
             sp.Eq(cos_parts, score_parts, evaluate=False), lambda st: is_zero(cos_parts - st.rhs)),
        Step(Text("own-class noise share: the ", n_j, " points of cluster ", jj, " carry ", lam_j / n_j,
                  " each (the mean of ", 1 / n_j, " over the class at equal ", lam_j, ")"),
             sp.Eq(eps_sym ** 2, share / Sl ** 2, evaluate=False), noise_share),
        Step("Cauchy-Schwarz lower end of the opposite noise",
             sp.Le(cs_sum ** 2 / Nc, sp.Sum(cb[i] ** 2, (i, 1, Nc)), evaluate=False), cauchy_schwarz),
        Step(Text("tail moments of the standard normal above ", z),
             sp.And(sp.Eq(sp.Symbol("m_1"), tail1, evaluate=False), sp.Eq(sp.Symbol("m_2"), tail2, evaluate=False)),
             tails_ok),
    )
    preds = {
        "point_weight": lambdify_prediction([q, eta, n, m], weight, "eta g(q)/(n m): a point's weight per step"),
        "coefficient_rate": lambdify_prediction(
            [q, pi_, eta, m], rate_coeff, "eta pi_j g(q)/m: per-step growth of an active own neuron's coefficient"),
        "count_offset": lambdify_prediction([dl, qb, q1, x1], x_sol, "linearised margin offset x_j(qbar)"),
        "opposite_residual": lambdify_prediction([u, d, p, K, shift], residual, "u + Phi(z(u)/sigma - s): zero at u*"),
        "self_shift": lambdify_prediction([d, p, sp.Symbol("n_j", positive=True)],
                                          sp.sqrt(d / p) / sp.Symbol("n_j", positive=True),
                                          "sqrt(d/p)/n_j': an active point's own-noise shift, in sigma units"),
        "score_from_parts": lambdify_prediction([cv2, o2, e2], score_parts, "1/sqrt(1 + CV^2 + o^2 + eps^2)"),
        "tail_moments": lambdify_prediction([z], sp.Matrix([tail1, tail2]),
                                            "(E[Z - z | Z > z], E[(Z - z)^2 | Z > z])"),
    }
    return steps, preds


# ---- figure: the paper's Figure 2 (shared with C5.decoupling) -----------------------------------

def _cosine_heatmaps(ctx):
    from featavg._figures import new_figure, paper_text
    from featavg._output import fmt
    from featavg.simulate import averaging_score, cosine_matrix, decoupling_score

    b, c = ctx.run(ctx.paper_config("binary")), ctx.run(ctx.paper_config("cluster"))
    k, m = b.config.k, b.config.m
    labels = b.cluster_labels
    fig = new_figure((10.0, 4.6))
    axes = fig.subplots(1, 2)
    mats = {}
    for ax, run, name in ((axes[0], b, "binary"), (axes[1], c, "cluster")):
        C = cosine_matrix(run.network.W, run.features)
        mats[name] = C
        im = ax.imshow(C, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
        for (r, j), v in np.ndenumerate(C):
            ax.text(j, r, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if abs(v) > 0.6 else "black")
        ax.set_xticks(range(k), [f"{j}{'+' if labels[j] > 0 else '−'}" for j in range(k)])
        ax.set_xlabel(r"cluster feature $\mu_j$ (its label)")
        if name == "binary":
            ax.set_yticks(range(2 * m), [f"({'+' if r < m else '−'}1, {r % m})" for r in range(2 * m)])
            ax.set_ylabel(r"neuron $(s, r)$")
            ax.set_title("binary supervision (labels $y$)")
        else:
            h = run.config.h
            ax.set_yticks(range(k * h), [f"({r // h}, {r % h})" for r in range(k * h)])
            ax.set_ylabel(r"neuron $(j, r)$ of output $j$")
            ax.set_title("cluster supervision (labels $j$)")
    fig.colorbar(im, ax=list(axes), label=r"$\cos(w_r, \mu_j)$", shrink=0.85)
    fig.suptitle(r"Cosine of each trained neuron with each cluster feature (paper setting, $k=10$, $d=3072$)")

    signs = np.repeat([1, -1], m)
    own = signs[:, None] == labels[None, :]
    own_cos = float(mats["binary"][own].mean())
    predicted_own = float(np.mean(ctx.prediction(ID, "cos_own_feature")(own.sum(axis=1))))
    avg = averaging_score(b.network, b.features, labels)
    dec = decoupling_score(c.network, c.features, c.cluster_labels)
    diag = np.repeat(np.arange(k), c.config.h)[:, None] == np.arange(k)[None, :]
    off_max = float(mats["cluster"][~diag].max())
    data = {"seed": ctx.seed, "config_binary": b.config.to_dict(), "config_cluster": c.config.to_dict(),
            "cosine_binary": mats["binary"], "cosine_cluster": mats["cluster"],
            "binary_mean_own_class_cosine": own_cos, "binary_predicted_own_class_cosine": predicted_own,
            "binary_opposite_class_max_cosine": float(mats["binary"][~own].max()),
            "averaging_score_binary": avg, "decoupling_score_cluster": dec,
            "cluster_max_off_feature_cosine": off_max}
    caption = (f"Cosine between each trained neuron's weight and each cluster feature ({paper_text(b)}). "
               f"Binary labels: every neuron is spread evenly over its class's features (mean cosine "
               f"{fmt(own_cos)} against 1/sqrt(|J_s|) = {fmt(predicted_own)} for exact averaging; averaging score "
               f"{fmt(avg)}); cluster labels: each neuron holds its own feature alone (decoupling score "
               f"{fmt(dec)}, off-feature cosines at most {fmt(off_max)}). Look for two 5x5 blocks on the left "
               f"against a diagonal on the right.")
    return fig, caption, data


COSINE_HEATMAPS = Figure("cosine_heatmaps",
                         "Feature averaging vs decoupling: cosines of neurons with cluster features (the paper's Figure 2)",
                         _cosine_heatmaps, claims=(ID, "C5.decoupling"))

