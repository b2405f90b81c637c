r"""C7.equal_margins_attract: equal margins attract; lagging clusters catch up (the averaging).

Linearising C7.margin_ode about equal margins ``q``: the differences :math:`q_i - q_j` decay at the
rate :math:`d g'(q)/(mk) < 0` and the common mode drifts at :math:`(d + |J_s|) g'(q)/(mk)`; a
Lyapunov function :math:`V = (q_1 - q_2)^2/2` decreases along the flow. With finite ``n`` the
cluster weights are :math:`\pi_j = n_j/n` and the differences vanish where :math:`\pi_j g_j` is
equal across :math:`J_s`: for :math:`q \gg 1`, :math:`g \approx e^{-q}`, so :math:`q_j - q_i \to
\log(n_j/n_i)`.

Evidence: nets trained at ``d = 10^6``: their centred margins at the end of the late-phase window
against C7.margin_ode's finite-``n`` map from its start (rivals: no count offsets, no attraction,
the limit offsets). The built regime's linearised decay is a test (``tests/test_late_regime.py``).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, g, k, m

from featavg.claims._late import describe, late_windows
from featavg.claims.c7_margin_ode import margin_rhs

ID = "C7.equal_margins_attract"
ORDER = (7, 3)

q = sp.Symbol("q", real=True)
t = sp.Symbol("t", nonnegative=True)


def derive():
    """The claim: the linearisation about equal margins has negative eigenvalues; a Lyapunov function."""
    p = 3
    Q = sp.symbols(f"Q_0:{p}", real=True)
    F = sp.Matrix([margin_rhs(Q, j) for j in range(p)])
    J = F.jacobian(Q).subs({Qi: q for Qi in Q})
    gp = sp.diff(g(q), q)
    lam_diff = d * gp / (m * k)          # modes q_i - q_j
    lam_common = (d + p) * gp / (m * k)  # the common drift
    eig = J.eigenvals()

    def eig_check():
        expected = {lam_diff: p - 1, lam_common: 1}
        got = {}
        for ev, mult in eig.items():
            key = next((e for e in expected if is_zero(ev - e)), None)
            if key is None:
                return False
            got[key] = got.get(key, 0) + mult
        return got == expected

    def lyapunov():
        # V = (q_1 - q_2)^2 / 2 for two clusters: dV/dt = (q1-q2) d (g1-g2)/(mk) <= 0 since g decreases
        a, bb = sp.symbols("a b", real=True)
        two = [margin_rhs((a, bb), j) for j in range(2)]
        dV = sp.simplify((a - bb) * (two[0] - two[1]))
        return is_zero(dV - (a - bb) * d * (g(a) - g(bb)) / (m * k)) and bool(sp.simplify(gp).is_negative)

    statement = sp.Eq(sp.Symbol("lambda_i-j"), lam_diff)
    q1, q2 = notation("q_1")(t), notation("q_2")(t)
    dV = (q1 - q2) * d * (g(q1) - g(q2)) / (m * k)
    steps = (
        Step("g'(q) = -e^q/(1+e^q)^2 < 0",
             sp.And(sp.Eq(sp.Derivative(g(q), q), gp, evaluate=False), sp.Lt(gp, 0, evaluate=False)),
             lambda: bool(sp.simplify(gp).is_negative)),
        # the spectrum listed with multiplicity: p - 1 = 2 difference modes, then the common mode
        Step("Jacobian at equal margins (|J_s| = 3): eigenvalues d g'/(mk) (x2) and (d+3) g'/(mk)",
             sp.Eq(notation("spec")(sp.Symbol("J")), sp.Tuple(lam_diff, lam_diff, lam_common), evaluate=False),
             eig_check, generality="instance", instances="|J_s| = 3"),
        Step("all eigenvalues negative",
             sp.And(sp.Lt(lam_diff, 0, evaluate=False), sp.Lt(lam_common, 0, evaluate=False)),
             lambda: all(bool(sp.simplify(ev).is_negative) for ev in eig), generality="instance",
             instances="|J_s| = 3"),
        Step("Lyapunov: V=(q1-q2)^2/2 has dV/dt = (q1-q2) d (g1-g2)/(mk) <= 0",
             sp.And(sp.Eq(sp.Derivative((q1 - q2) ** 2 / 2, t), dV, evaluate=False), sp.Le(dV, 0, evaluate=False)),
             lyapunov, generality="instance", instances="two clusters"),
    )
    preds = {"difference_rate": lambdify_prediction(
        [q, d, m, k], lam_diff, "decay rate d g'(q)/(m k) (< 0) of q_i - q_j near equal margins q")}
    more_steps, more_preds = _offsets()  # appended (issue 14): the finite-n attractor
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(
        id=ID, title="Equal margins attract: lagging clusters catch up (averaging)",
        statement=statement, assumptions="As C7.margin_ode.", regime="late phase, leading order",
        steps=steps, predictions=preds)


def _offsets():
    r"""Where finite-``n`` margins are attracted to (appended to :func:`derive`).

    At large ``d`` each cluster's points follow the Lambert-W equation with their own constant
    :math:`\tilde C_j` (C7.lambert_w's appendix), :math:`u + e^u = \tilde C_j t + c_j`, so
    :math:`e^{u_j} / (\tilde C_j t) \to 1` and the differences tend to
    :math:`u_i - u_j \to \log(\tilde C_i/\tilde C_j) \approx \log(n_i/n_j)`, whatever the start:
    the memory of the initial offsets decays like :math:`1/t` (the attraction).
    """
    import mpmath

    Ci, Cj = sp.symbols("C_i C_j", positive=True)
    limit = sp.log(Ci / Cj)

    def lambert_offsets():
        # u(t) = c + C t - W(e^{c + C t}) for two constants and starts, at t = 1e8, 1e16 (50 digits):
        # the difference approaches log(C_i/C_j) like 1/t
        mpmath.mp.dps = 50
        ok = True
        for ci_, cj_, c1, c2 in ((2.0, 1.0, 0.3, 1.7), (1.1, 0.9, 2.0, 0.0)):
            for T in (mpmath.mpf(10) ** 8, mpmath.mpf(10) ** 16):
                u1 = c1 + ci_ * T - mpmath.lambertw(mpmath.e ** (c1 + ci_ * T)).real
                u2 = c2 + cj_ * T - mpmath.lambertw(mpmath.e ** (c2 + cj_ * T)).real
                ok &= abs(u1 - u2 - mpmath.log(mpmath.mpf(ci_) / cj_)) < 10 * (1 + abs(c1) + abs(c2)) / T
        return bool(ok)

    steps = (Step("finite n: u_i - u_j -> log(Ct_i/Ct_j), the attractor of the differences",
                  sp.Eq(sp.Limit(sp.Symbol("u_i") - sp.Symbol("u_j"), t, sp.oo), limit, evaluate=False),
                  lambert_offsets, generality="instance",
                  instances="C_i/C_j = 2 and 1.1/0.9, t = 1e8 and 1e16 (50-digit arithmetic)"),)
    preds = {"offset_limit": lambdify_prediction([Ci, Cj], limit, "lim u_i - u_j = log(Ct_i/Ct_j)")}
    return steps, preds


# ---- evidence -----------------------------------------------------------------------------------

def _centred(values, groups):
    """``q_j - mean_{c in J_s} q_c`` within each group."""
    out = np.array(values, dtype=float)
    for grp in groups:
        out[grp] = out[grp] - out[grp].mean()
    return out


def _centred_bound(values, groups):
    """A bound for centred values from bounds ``b_j``: ``b_j + mean_{c in J_s} b_c``."""
    out = np.array(values, dtype=float)
    for grp in groups:
        out[grp] = out[grp] + out[grp].mean()
    return out


def _centred_sd(values, groups):
    """The sd of ``x_j - mean_{c in J_s} x_c`` for ``x_c`` independent with sds ``s_c``:
    ``sqrt(s_j^2 (1 - 2/p) + sum_c s_c^2 / p^2)`` (the noise terms of different clusters use
    different projections, C7.margin_ode's appendix)."""
    out = np.array(values, dtype=float)
    for grp in groups:
        p = grp.size
        out[grp] = np.sqrt(out[grp] ** 2 * (1 - 2 / p) + np.sum(out[grp] ** 2) / p ** 2)
    return out


def _measure_trained(ctx):
    from featavg.claims._late import iterate_map, neglected, vector_terms

    wins, skipped = late_windows(ctx, "binary")
    offset = ctx.prediction(ID, "offset_limit")
    C_fn = ctx.prediction("C7.lambert_w", "C_finite_n")
    factor = ctx.prediction("C7.margin_ode", "bias_factor")
    pred, meas, parts = [], [], []
    rivals = {"no count offsets (pi_j = 1/k)": [], "no attraction (differences kept from t0)": [],
              "attraction complete (centred log Ct_j, the t -> oo offsets)": []}
    for w in wins:
        qm, um, info = iterate_map(ctx, w)
        stat, bound = neglected(w, qm, um, info)
        parts.append(({k_: _centred_sd(v, w.groups) for k_, v in stat.items()},
                      {k_: _centred_bound(v, w.groups) for k_, v in bound.items()}))
        pred.append(_centred(qm, w.groups))
        meas.append(_centred(w.q1, w.groups))
        rivals["no count offsets (pi_j = 1/k)"].append(_centred(iterate_map(ctx, w, counts=False)[0], w.groups))
        rivals["no attraction (differences kept from t0)"].append(_centred(w.q0, w.groups))
        cfg = w.config
        d = float(cfg.d)
        Ct = np.asarray(C_fn(d, cfg.k - w.K, w.counts, cfg.n, cfg.m, cfg.sigma, factor(d, w.K)), dtype=float)
        rivals["attraction complete (centred log Ct_j, the t -> oo offsets)"].append(
            _centred(np.asarray(offset(Ct, Ct[0]), dtype=float), w.groups))
    terms, z = vector_terms(parts, "centred margins")
    pred, meas = np.concatenate(pred), np.concatenate(meas)
    base = np.zeros_like(pred)
    return Outcome(pred, meas, Band(pred, terms), rivals={k_: np.concatenate(v) for k_, v in rivals.items()},
                   seeds=[w.seed for w in wins], baseline=base,
                   details={"windows": [w.summary() for w in wins], "skipped_seeds_outside_the_regime": skipped, "bonferroni_z": z,
                            "max_abs_error": float(np.max(np.abs(meas - pred)))},
                   config={"run": wins[0].config.to_dict(), "window": [wins[0].spec["t0"], wins[0].spec["T"]]})


TRAINED = Check(
    "C7.equal_margins_attract.trained",
    "Trained net: centred margins at T vs C7.margin_ode's finite-n map from t0 (lagging clusters catch up to "
    "the count offsets; uses the measured counts and state at t0)",
    describe("binary") + "; baseline: equal margins (the n -> oo attractor)",
    _measure_trained,
    rivals=(Rival("no count offsets (pi_j = 1/k)", "the infinite-n dynamics from the same state"),
            Rival("no attraction (differences kept from t0)", "margins that do not interact: no catching up"),
            Rival("attraction complete (centred log Ct_j, the t -> oo offsets)",
                  "the limit of the differences in place of their value at T")),
    faults=("decouple", "untrained", "closed_form"), slow=True)
