r"""C7.gd_step: the exact one-step GD map of equal margins.

In the late regime the margins are linear in the parameters ``(u, b)``, so one GD step with rate
``eta`` on the late-phase risk maps equal margins ``q`` exactly to :math:`q + \eta C'/(1+e^q)`,
:math:`C' = (d + |J_s|)/(mk)` (no second-order term), provided no activation changes during the step.

Evidence: one GD step of nets trained at ``d = 10^6``, at the start of their late regime: their
training points' margins against the map with the finite-``n`` constant (rival: the flow over one
step). The built regime's exact iteration is a test (``tests/test_late_regime.py``).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, g, k, m

from featavg.claims._late import describe, late_windows

ID = "C7.gd_step"
ORDER = (7, 5)

q = sp.Symbol("q", real=True)
C, eta = sp.symbols("C eta", positive=True)


def derive():
    """The claim: one GD step maps q to q + eta C'/(1+e^q) exactly (q is linear in the parameters)."""
    M, p = 2, 2
    u = sp.Matrix(M, p, lambda r, i: sp.Symbol(f"u_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    qs = [sum(sp.sqrt(d) * u[r, j] + b[r] for r in range(M)) / M for j in range(p)]
    L = sum(sp.log(1 + sp.exp(-qj)) for qj in qs) / k
    params = list(u) + list(b)
    new = {th: th - eta * sp.diff(L, th) for th in params}
    Cp = (d + p) / (M * k)
    step_expr = q + eta * Cp / (1 + sp.exp(q))

    def check():
        # equal margins: put b_r so that q_0 = q_1 = q (u_{r,0} = u_{r,1})
        eq = {u[r, 1]: u[r, 0] for r in range(M)}
        q_after = [qj.xreplace(new).subs(eq) for qj in qs]
        q_before = qs[0].subs(eq)
        qsym_sub = {b[0]: q * M - sum(sp.sqrt(d) * u[r, 0] for r in range(M)) - b[1]}
        return all(is_zero((qa - step_expr.subs(q, q_before)).subs(qsym_sub)) for qa in q_after)

    statement = sp.Eq(sp.Symbol("q_t+1"), (q + eta * C / (1 + sp.exp(q))))
    theta = sp.Symbol("theta", real=True)  # any of the parameters u_{r,i}, b_r
    steps = (Step("GD step on the L2 risk (m=2, |J_s|=2) maps q to q + eta C'/(1+e^q), C' = (d+|J_s|)/(mk)",
                  sp.Eq(sp.Symbol("q_t+1"), step_expr.subs(q, sp.Symbol("q_t", real=True)), evaluate=False), check,
                  generality="instance", instances="m = 2, |J_s| = 2"),
             Step("q is linear in (u, b) (no second-order term: the map is exact)",
                  sp.Eq(sp.Derivative(notation("q_j")(theta), (theta, 2)), 0, evaluate=False),
                  lambda: all(sp.diff(qs[0], a1, a2) == 0 for a1 in params for a2 in params),
                  generality="instance", instances="m = 2, |J_s| = 2"))
    preds = {"step": lambdify_prediction([q, eta, C], statement.rhs, "q -> q + eta C'/(1+e^q), C' = (d + |J_s|)/(m k)")}
    return Claim(id=ID, title="Exact one-step GD map of equal margins", statement=statement,
                 assumptions="As C7.margin_ode; the activation pattern does not change during the step.",
                 regime="late phase, leading order", steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _one_step(ctx, win):
    r"""One GD step from a trained net at the start of its late regime: each cluster's points' margin.

    Measured: the increment of the mean margin ``u_j`` of cluster ``j``'s training points, over
    ``eta``. Predicted: the map ``u -> u + eta Ct_j g(u)`` (C7.gd_step) with the finite-``n``
    constant ``Ct_j`` (C7.lambert_w) at the measured ``u_j``. Neglected, from the measured state
    (C7.margin_ode's appendix): the noise inner products of this step (sds from the points'
    ``g_i``), the spread of the points' margins, the unequal ``pi_c g_c`` in the coupling, the
    opposite points' pull on the biases and the outside neurons' share of the margins.
    """
    from featavg.claims._late import one_step

    cfg = win.config
    kk, dd, n, mm, sigma, eta = cfg.k, float(cfg.d), cfg.n, cfg.m, cfg.sigma, cfg.eta
    C_run, before, after = one_step(ctx, win)
    cl, labels = win.A.train.clusters, win.labels
    nc = win.counts
    u_i, rho_i, _ = before
    u1_i, rho1_i, _ = after
    gw = ctx.prediction("C7.margin_ode", "g")
    step = ctx.prediction(ID, "step")
    LW = {name: ctx.prediction("C7.lambert_w", name) for name in ("C_finite_n", "C", "q", "c_from_q0")}
    kappa = np.asarray(ctx.prediction("C7.margin_ode", "bias_factor")(dd, win.K), dtype=float)
    p = kk - win.K
    u = np.bincount(cl, weights=u_i, minlength=kk) / nc
    meas = (np.bincount(cl, weights=u1_i, minlength=kk) / nc - u) / eta
    Ct = np.asarray(LW["C_finite_n"](dd, p, nc, n, mm, sigma, kappa), dtype=float)
    pred = (np.asarray(step(u, eta, Ct), dtype=float) - u) / eta
    g_i = np.asarray(gw(u_i), dtype=float)
    G = np.bincount(cl, weights=g_i, minlength=kk)
    G2 = np.bincount(cl, weights=g_i ** 2, minlength=kk)
    sdN, sdM, sdX, gap, uneq = (np.empty(kk) for _ in range(5))
    for s_ in (1, -1):
        grp = np.flatnonzero(labels == s_)
        sdN[grp] = sigma / (mm * n) * np.sqrt(dd * G2[grp].sum())
        sdM[grp] = sigma / (mm * n) * np.sqrt(dd * np.sum(G[grp] ** 2) / nc[grp])
        sdX[grp] = sigma ** 2 / (mm * n) * np.sqrt(dd * G2[grp].sum() / nc[grp])
        gbar = G[grp] / nc[grp]
        gap[grp] = np.abs(gbar - np.asarray(gw(u[grp]), dtype=float)) * Ct[grp]
        # the map uses kappa p pi_j g_j for the coupling kappa sum_c pi_c g_c
        uneq[grp] = kappa[grp] / mm * np.abs(np.sum(G[grp]) / n - p[grp] * G[grp] / n)
    # opposite points pull the biases of neuron r by (1/(mn)) sum_{i in -s, active on r} g_i
    Zt = win.A.network.preactivations(win.A.train.X)
    signs = win.A.network.neuron_signs
    y = win.A.train.y
    pull = np.empty(kk)
    for s_ in (1, -1):
        mask = (Zt[:, signs == s_] > 0) & (y[:, None] == -s_)
        pull[labels == s_] = np.max((mask * g_i[:, None]).sum(axis=0)) / (mm * n)
    rho = np.abs(np.bincount(cl, weights=rho1_i - rho_i, minlength=kk) / nc) / eta
    # the self term eta sigma^2 ||xi_i||^2 g_i/(mn) with ||xi_i||^2 = sigma^2 d (1 + O(sqrt(2/d))): its mean over
    # cluster j has relative sd sqrt(2/(d n_j))
    sdS = sigma ** 2 * dd / (mm * n) * (G / nc) * np.sqrt(2.0 / (dd * nc))
    stat = {"N_j": sdN, "M_j": sdM, "noise-noise": sdX, "self-norm": sdS}
    bound = {"spread of the point margins: |mean g(u_i) - g(u_j)| Ct_j": gap,
             "unequal pi_c g_c in the coupling: (kappa/m) |sum_c pi_c g_c - p pi_j g_j|": uneq,
             "opposite points' pull on the biases (measured at t0)": pull,
             "outside neurons' share of the point margins, its change over the step / eta": rho}
    rivals = {
        "C doubled (2 Ct_j)": (np.asarray(step(u, eta, 2 * Ct), dtype=float) - u) / eta,
        "the flow over one step (Lambert-W at t = eta: no GD lead)":
            (np.asarray(LW["q"](eta, Ct, LW["c_from_q0"](u)), dtype=float) - u) / eta,
        "C from the sizes alone at the centre margins (the idealised map)":
            (np.asarray(step(win.q0, eta, LW["C"](dd, p, mm, kk)), dtype=float) - win.q0) / eta,
        "no own-noise term (Ct without sigma^2 d/(mn), g at the centre margins)":
            (np.asarray(step(win.q0, eta, LW["C_finite_n"](dd, p, nc, n, mm, 0.0, kappa)), dtype=float) - win.q0) / eta,
    }
    return pred, meas, stat, bound, rivals, np.asarray(step(win.q0, eta, LW["C"](dd, p, mm, kk)) - win.q0) / eta


def _measure(ctx):
    from featavg.claims._late import bonferroni_z

    wins, skipped = late_windows(ctx, "binary")
    rows = [_one_step(ctx, w) for w in wins]
    pred = np.concatenate([r[0] for r in rows])
    meas = np.concatenate([r[1] for r in rows])
    z = bonferroni_z(pred.size)
    stat = sum(np.concatenate([r[2][name] for r in rows]) for name in rows[0][2])
    terms = [Term(f"z = {z:.3g} (Bonferroni over {pred.size} clusters) x (sd N_j + sd M_j + sd noise-noise + sd self-norm) "
                  "of this step's noise inner products, from the points' g_i", z * stat, "stat")]
    terms += [Term(name, np.concatenate([r[3][name] for r in rows])) for name in rows[0][3]]
    rivals = {name: np.concatenate([r[4][name] for r in rows]) for name in rows[0][4]}
    return Outcome(pred, meas, Band(pred, terms), rivals=rivals, seeds=[w.seed for w in wins],
                   baseline=np.concatenate([r[5] for r in rows]),
                   details={"skipped_seeds_outside_the_regime": skipped, "bonferroni_z": z, "max_relative_error": float(np.max(np.abs(meas - pred) / pred)),
                            "from_step": wins[0].spec["t0"]},
                   config={"run": wins[0].config.to_dict()})


MAP = Check(
    "C7.gd_step",
    "Trained net, one GD step at the start of the late regime: the points' margins move by eta Ct_j g(u_j) "
    "(the map, finite-n constant; measured counts and margins)",
    describe("binary") + ": the step after step 30 of C7.lambert_w.trained's runs",
    _measure,
    rivals=(Rival("C doubled (2 Ct_j)", "a factor 2 in the map's constant"),
            Rival("the flow over one step (Lambert-W at t = eta: no GD lead)", "GD taken as the exact flow: a "
                  "second-order term eta^2 C^2 g g'/2 that the linear map does not have"),
            Rival("C from the sizes alone at the centre margins (the idealised map)", "the built regime's map"),
            Rival("no own-noise term (Ct without sigma^2 d/(mn), g at the centre margins)",
                  "the finite-n correction of relative order k/n dropped")),
    faults=("gradient", "untrained", "closed_form"), slow=True)
