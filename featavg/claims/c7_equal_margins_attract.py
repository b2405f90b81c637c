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
from featavg.theory._claim import Text
from featavg.theory._common import d, evaluate_sums, factor_sums, g, k, m, p, sums_equal

from featavg.claims._late import describe, late_windows

ID = "C7.equal_margins_attract"
ORDER = (7, 3)

q = sp.Symbol("q", real=True)
t = sp.Symbol("t", nonnegative=True)


def derive():
    """The claim: the linearisation about equal margins (a rank-one update of a multiple of the
    identity, for every p = |J_s|) has negative eigenvalues; a Lyapunov function for every p."""
    i, j, l = sp.symbols("i j l", positive=True, integer=True)
    Q, v = sp.IndexedBase("q", real=True), sp.IndexedBase("v", real=True)
    ranges = [(i, 1, p), (j, 1, p), (l, 1, p)]
    rhs_j = (d * g(Q[j]) + sp.Sum(g(Q[i]), (i, 1, p))) / (m * k)    # C7.margin_ode, margins q_1..q_p
    gp = sp.diff(g(q), q)
    lam_diff = d * gp / (m * k)          # modes orthogonal to (1, ..., 1)
    lam_common = (d + p) * gp / (m * k)  # the common drift

    def equal(expr):
        return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == Q, lambda e: q)

    # Jacobian entries, then at equal margins
    J_jl = equal(evaluate_sums(sp.diff(rhs_j, Q[l]), ranges))
    Jv = evaluate_sums(factor_sums(sp.Sum(J_jl * v[l], (l, 1, p))), ranges)
    Jv_perp = Jv.xreplace({sp.Sum(v[l], (l, 1, p)): 0})      # v orthogonal to (1, ..., 1)
    J1 = evaluate_sums(factor_sums(sp.Sum(J_jl, (l, 1, p))), ranges)

    def spectrum(st):
        ok = True
        for eq in st.args:
            derived = Jv_perp if eq.rhs.has(v) else J1
            ok &= is_zero(derived - eq.rhs)
        return ok

    def negative(st):
        return all(isinstance(c, sp.StrictLessThan) and c.rhs == 0 and bool(sp.simplify(c.lhs).is_negative)
                   and any(is_zero(c.lhs - lam) for lam in (lam_diff, lam_common)) for c in st.args)

    # Lyapunov V = (1/2) sum_i (q_i - qbar)^2: dV/dt = sum_i (q_i - qbar) dq_i/dt (sum_i (q_i - qbar) = 0)
    qbar = sp.Sum(Q[l], (l, 1, p)) / p
    rhs_i = (d * g(Q[i]) + sp.Sum(g(Q[l]), (l, 1, p))) / (m * k)
    dV = sp.Sum((Q[i] - qbar) * rhs_i, (i, 1, p))
    pair_form = d / (2 * m * k * p) * sp.Sum(sp.Sum((Q[i] - Q[j]) * (g(Q[i]) - g(Q[j])), (j, 1, p)), (i, 1, p))

    def lyapunov(st):
        ok = True
        for c in st.args:
            if isinstance(c, sp.Equality):
                ok &= sums_equal(dV, c.rhs, ranges)
            else:  # each term (x - y)(g(x) - g(y)) = g'(x*)(x - y)^2 <= 0 (mean value theorem, g' < 0)
                ok &= isinstance(c, sp.LessThan) and c.rhs == 0 and sums_equal(c.lhs, pair_form, ranges) \
                    and bool(sp.simplify(gp).is_negative)
        return ok

    statement = sp.Eq(sp.Symbol("lambda_i-j"), lam_diff)
    Vs = notation("V")(t)
    gq = notation("g")
    ones = sp.Symbol("1")
    steps = (
        Step(Text("the margin's weight ", gq(q), " decreases"),
             sp.And(sp.Eq(sp.Derivative(g(q), q), gp, evaluate=False), sp.Lt(gp, 0, evaluate=False), evaluate=False),
             lambda st: all((is_zero(c.rhs - gp) if isinstance(c, sp.Equality) else
                             (isinstance(c, sp.StrictLessThan) and c.rhs == 0 and is_zero(c.lhs - gp)
                              and bool(sp.simplify(gp).is_negative))) for c in st.args)),
        Step(Text("the Jacobian of the margin ODE at equal margins is ", d * notation("g'")(q) / (m * k),
                  " times the identity plus ", notation("g'")(q) / (m * k), " times the all-ones matrix: every ",
                  sp.Symbol("v"), " orthogonal to ", ones,
                  " (the ", p - 1, " differences) is an eigenvector, and so is ", ones, " (the common mode)"),
             sp.And(sp.Eq(sp.Symbol("(J v)_j"), lam_diff * v[j], evaluate=False),
                    sp.Eq(sp.Symbol("(J 1)_j"), lam_common, evaluate=False), evaluate=False),
             spectrum),
        Step("all eigenvalues are negative",
             sp.And(sp.Lt(lam_diff, 0, evaluate=False), sp.Lt(lam_common, 0, evaluate=False), evaluate=False),
             negative),
        Step(Text("Lyapunov function for every ", p, ": ", sp.Eq(Vs, sp.Sum((sp.Symbol("q_i") - sp.Symbol("qbar")) ** 2,
                                                                          (sp.Symbol("i"), 1, p)) / 2, evaluate=False),
                  " decreases (the common term cancels; ", gq(q), " decreases)"),
             sp.And(sp.Eq(sp.Derivative(Vs, t), pair_form, evaluate=False), sp.Le(pair_form, 0, evaluate=False),
                    evaluate=False), lyapunov),
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
    ci, cj = sp.symbols("c_i c_j", real=True)
    tp = sp.Symbol("t", positive=True)
    ui, uj, wi, wj = sp.Symbol("u_i", real=True), sp.Symbol("u_j", real=True), *sp.symbols("w_i w_j", positive=True)
    ri, rj = sp.symbols("rho_i rho_j", nonnegative=True)                 # rho = u/t
    uf = sp.Function("u", real=True)(tp)
    # u_i - u_j = log(e^{u_i}/e^{u_j}), and e^u = C t + c - u on the implicit solution u + e^u = C t + c
    diff_over_t = sp.log((Ci + ci / tp - ri) / (Cj + cj / tp - rj))
    upper = {Ci: sp.log(Ci * tp + ci) / tp, Cj: sp.log(Cj * tp + cj) / tp}  # rho <= log(C t + c)/t once u >= 0

    def lambert_offsets(st):
        # (1) the identity: with w = e^u, u_i - u_j = log(w_i/w_j), w = C t + c - u = t (C + c/t - rho)
        ok = is_zero(sp.expand_log(sp.log(wi / wj)) - (sp.log(wi) - sp.log(wj)))
        ok &= is_zero(tp * (Ci + ci / tp - ui / tp) - (Ci * tp + ci - ui))
        # (2) u increases (implicit differentiation of u + e^u = C t + c: du/dt = C/(1 + e^u) > 0) without bound,
        # so u >= 0 for large t, and then e^u = C t + c - u <= C t + c: 0 <= u/t <= log(C t + c)/t
        dudt = sp.solve(sp.diff(uf + sp.exp(uf) - Ci * tp - ci, tp), sp.Derivative(uf, tp))[0]
        ok &= is_zero(dudt - Ci / (1 + sp.exp(uf))) and bool(dudt.is_positive)
        ok &= sp.limit(upper[Ci], tp, sp.oo) == 0 and sp.limit(upper[Cj], tp, sp.oo) == 0
        # (3) the difference decreases in rho_i and increases in rho_j (the arguments are e^u/t > 0): squeezed
        # between its values at the ends of the bounds, whose limits are the attractor
        X_i, X_j = sp.symbols("X_i X_j", positive=True)
        ok &= bool((sp.diff(diff_over_t, ri).xreplace({Ci + ci / tp - ri: X_i}) + 1 / X_i).equals(0))
        ok &= bool((sp.diff(diff_over_t, rj).xreplace({Cj + cj / tp - rj: X_j}) - 1 / X_j).equals(0))
        low = sp.limit(diff_over_t.subs({ri: upper[Ci], rj: 0}), tp, sp.oo)
        high = sp.limit(diff_over_t.subs({ri: 0, rj: upper[Cj]}), tp, sp.oo)
        ok &= is_zero(low - st.rhs) and is_zero(high - st.rhs)
        # a guard on SymPy's limits (it gets LambertW ratios wrong): u = c + C t - W(e^{c + C t}) at t = 1e16,
        # 50 digits, two pairs of constants and starts
        mpmath.mp.dps = 50
        target = sp.lambdify((Ci, Cj), st.rhs, "mpmath")
        for ci_, cj_, c1, c2 in ((2.0, 1.0, 0.3, 1.7), (1.1, 0.9, 2.0, 0.0)):
            T = mpmath.mpf(10) ** 16
            u1 = c1 + ci_ * T - mpmath.lambertw(mpmath.e ** (c1 + ci_ * T)).real
            u2 = c2 + cj_ * T - mpmath.lambertw(mpmath.e ** (c2 + cj_ * T)).real
            ok &= abs(u1 - u2 - target(mpmath.mpf(ci_), mpmath.mpf(cj_))) < 10 * (1 + abs(c1) + abs(c2)) / T
        return bool(ok)

    Ct_i, Ct_j = sp.Symbol("Ctilde_i"), sp.Symbol("Ctilde_j")
    steps = (Step(Text("finite ", sp.Symbol("n"), ": each cluster's points solve ",
                       sp.Eq(ui + sp.exp(ui), Ct_i * t + ci, evaluate=False), " (C7.lambert_w), so ",
                       sp.Eq(ui - uj, sp.log(sp.exp(ui) / sp.exp(uj)), evaluate=False), " with ",
                       sp.Eq(sp.exp(ui), Ct_i * t + ci - ui, evaluate=False), " and ",
                       sp.Le(ui / t, sp.log(Ct_i * t + ci) / t, evaluate=False),
                       ": the differences are squeezed to the attractor ", sp.log(Ct_i / Ct_j),
                       ", whatever the start"),
                  sp.Eq(sp.Limit(sp.Symbol("u_i") - sp.Symbol("u_j"), t, sp.oo), limit, evaluate=False),
                  lambert_offsets),)
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
