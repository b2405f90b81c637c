r"""C7.lambert_w: with equal margins, q(t) = c + C t - W(e^{c + C t}): margins grow like log t.

With equal margins, C7.margin_ode reads :math:`\dot q = C/(1+e^q)`, :math:`C = (d + |J_s|)/(mk)`.
Separating variables, :math:`q + e^q = C t + c` with :math:`c = q_0 + e^{q_0}`, whose solution is
:math:`q(t) = c + C t - W(e^{c + C t})` with Lambert's ``W``; since :math:`W(x) \sim \log x - \log\log x`,
margins grow like :math:`\log t`. GD is the explicit Euler scheme of this flow, so its error at a
fixed time is first order in ``eta``.

Evidence: the simulator's GD against the flow as ``eta`` shrinks (the rate), and a trained net's
late-phase class-mean margins against the iterated GD map; the margin-trajectories figure.
"""

import numpy as np
import sympy as sp

from featavg.claims._late import late_regime_run, margins, trained_large_d
from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, fit_power_law
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Text
from featavg.theory._common import d, k, m

ID = "C7.lambert_w"
ORDER = (7, 4)

t = sp.Symbol("t", nonnegative=True)
q0 = sp.Symbol("q_0", real=True)
C = sp.Symbol("C", positive=True)


def derive():
    """The claim: q(t) = c + C t - W(e^{c + C t}) solves dq/dt = C/(1+e^q); q/log t -> 1 as a limit."""
    c = sp.Symbol("c", real=True)
    u = c + C * t
    qt = u - sp.LambertW(sp.exp(u))
    x, w = sp.symbols("x w", positive=True)
    qq = sp.Symbol("q", positive=True)  # q as the variable of the inverse function t(q)

    def identity_defining(st):
        # W(x) e^{W(x)} = x, proved symbolically from SymPy's derivative W' = W/(x(1+W)) and
        # W(e) = 1: g = W e^W - st.rhs satisfies g' = g/x, whose solutions are g = C x, and g(e) = 0
        g = sp.LambertW(x) * sp.exp(sp.LambertW(x)) - st.rhs
        return is_zero(sp.diff(g, x) - g / x) and is_zero(g.subs(x, sp.E))

    def identity_algebra(st):
        # exp(-w) - w/x = (x - w e^w)/(x e^w): so exp(-W(x)) = W(x)/x follows from W e^W = x
        return is_zero(sp.exp(-w) - w / x - st.rhs)

    def rewrite(expr):
        """exp(-W(X)) -> W(X)/X, the checked identity; also exp(a - W(X)) -> e^a W(X)/X."""
        def repl(e):
            arg = sp.expand(e.args[0])
            Ws = [a for a in arg.atoms(sp.LambertW)]
            for W_ in Ws:
                coeff = arg.coeff(W_)
                if coeff == -1:
                    return sp.exp(arg + W_) * W_ / W_.args[0]
            return e
        return expr.replace(lambda e: isinstance(e, sp.exp) and e.atoms(sp.LambertW), repl)

    qf = notation("q")(t)

    def substitution(st):
        return is_zero(sp.diff(qt, t) - rewrite(st.rhs.xreplace({qf: qt})))

    def initial(st):
        # q(0) = q0 iff W(e^{c}) = e^{q0} with c = q0 + e^{q0}; W(y e^y) = y for y = e^{q0} > 0
        c0 = st.args[0].rhs
        W0 = sp.exp(q0)  # the claimed value of W(e^{c0}) = W(e^{q0} e^{e^{q0}})
        defining = is_zero(W0 * sp.exp(W0) - sp.exp(c0))
        return defining and is_zero(qt.subs({t: 0, c: c0}).subs(sp.LambertW(sp.exp(c0)), W0) - st.args[1].rhs)

    def implicit(st):
        # q + e^q = C t + c, using e^{q} = e^u e^{-W(e^u)} = W(e^u)
        return is_zero(rewrite(qt + sp.exp(qt)) - st.rhs)

    t_of_q = (qq + sp.exp(qq) - c) / C   # the implicit form solved for t

    def log_growth(st):
        # t(q) = (q + e^q - c)/C increases (dt/dq = (1 + e^q)/C > 0) to infinity, so q(t) -> oo as
        # t -> oo and lim_{t->oo} q/log t = lim_{q->oo} q/log t(q): a limit SymPy computes. (SymPy's
        # limit of the Lambert-W form itself returns oo, a wrong answer: not used.)
        increasing = bool(sp.simplify(sp.diff(t_of_q, qq)).is_positive)
        unbounded = sp.limit(t_of_q, qq, sp.oo) == sp.oo
        return increasing and unbounded and sp.limit(qq / sp.log(t_of_q), qq, sp.oo) == st.rhs

    statement = sp.Eq(qf, qt)
    Wx = sp.LambertW(x)
    Cq = sp.Symbol("C", positive=True)
    steps = (
        Step(Text("Lambert's ", sp.Symbol("W"), ": ", sp.Symbol("h"), " = ", Wx * sp.exp(Wx) - x, " solves ",
                  sp.Eq(sp.Symbol("h'"), sp.Symbol("h") / x, evaluate=False), " (from SymPy's ", sp.Symbol("W'"),
                  ") and vanishes at ", sp.E, ", so it is 0"),
             sp.Eq(Wx * sp.exp(Wx), x, evaluate=False), identity_defining),
        Step(Text("hence ", sp.Eq(sp.exp(-Wx), Wx / x, evaluate=False), " (an algebraic rewrite)"),
             sp.Eq(sp.exp(-w) - w / x, (x - w * sp.exp(w)) / (x * sp.exp(w)), evaluate=False), identity_algebra),
        Step(Text("the formula solves the equal-margin ODE (substituted, simplified to 0)"),
             sp.Eq(sp.Derivative(qf, t), Cq / (1 + sp.exp(qf)), evaluate=False), substitution),
        Step(Text("implicit form"), sp.Eq(qf + sp.exp(qf), C * t + c, evaluate=False), implicit),
        Step(Text("initial condition ", sp.Eq(notation("q")(0), q0, evaluate=False), " for ",
                  sp.Eq(c, q0 + sp.exp(q0), evaluate=False)),
             sp.Implies(sp.Eq(c, q0 + sp.exp(q0), evaluate=False), sp.Eq(notation("q")(0), q0, evaluate=False),
                        evaluate=False), initial),
        Step(Text("margins grow like ", sp.log(t), ": a limit, computed on the inverse function ",
                  sp.Eq(t, t_of_q.subs(qq, sp.Symbol("q")), evaluate=False), " (increasing and unbounded)"),
             sp.Eq(sp.Limit(qf / sp.log(t), t, sp.oo), 1, evaluate=False), log_growth),
    )
    # numerically W(e^u) is Wright's omega(u) (real, no overflow of e^u): same expression, rewritten
    omega = sp.Function("wrightomega")
    qt_num = qt.replace(lambda e: isinstance(e, sp.LambertW) and isinstance(e.args[0], sp.exp),
                        lambda e: omega(e.args[0].args[0]))
    from scipy.special import wrightomega
    pp = sp.Symbol("p", positive=True)
    preds = {
        "q": lambdify_prediction([t, C, c], qt_num,
                                 "q(t) = c + C t - W(e^{c + C t}) (W(e^u) evaluated as Wright omega(u)); "
                                 "use c = q0 + exp(q0)", extra_modules={"wrightomega": wrightomega}),
        "c_from_q0": lambdify_prediction([q0], q0 + sp.exp(q0), "c = q0 + e^{q0}"),
        "C": lambdify_prediction([d, pp, m, k], (d + pp) / (m * k), "C = (d + |J_s|)/(m k)"),
    }
    return Claim(
        id=ID, title=Text("Equal-margin solution ", sp.Eq(qf, qt, evaluate=False), ": margins grow like ", sp.log(t)),
        statement=statement,
        assumptions=Text("Equal margins in C7.margin_ode, ", sp.Eq(C, (d + sp.Abs(sp.Symbol("J_s"))) / (m * k),
                                                                    evaluate=False), "."),
        regime="late phase, leading order", steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure_rate(ctx):
    kk, dd, mm, q_init, t_end = 10, 200, 5, 0.5, 2.0
    p_ = kk // 2
    C_ = float(ctx.prediction(ID, "C")(dd, p_, mm, kk))
    c = float(ctx.prediction(ID, "c_from_q0")(q_init))
    q_flow = float(ctx.prediction(ID, "q")(t_end, C_, c))
    steps_list = [25, 50, 100, 200] if ctx.quick else [25, 50, 100, 200, 400]
    etas, errs = [], []
    for steps in steps_list:
        eta_ = t_end / steps
        run, _ = late_regime_run(ctx, np.full(kk, q_init), eta_, steps, k=kk, d=dd, m=mm)
        etas.append(eta_)
        errs.append(float(np.abs(margins(run) - q_flow).max()))
    fit = fit_power_law(etas, errs, level=0.999)
    # Euler's global error is c1 eta + c2 eta^2 + ...: the eta^2 term bends the log-log line by
    # about its relative size at the largest eta, c2 eta/c1 ~ eta C g' ~ 0.08 at eta = 0.08
    band = Band(1.0, (Term(f"t({len(etas) - 2} dof) x standard error of the fitted slope", fit["halfwidth"], "stat"),
                      Term("curvature from the eta^2 term at the largest eta (eta C |g'| <= 0.1)", 0.1)))
    return Outcome(1.0, fit["slope"], band, interval=tuple(fit["ci"]), seeds=[ctx.seed],
                   rivals={"2 (a second-order scheme)": 2.0, "1/2": 0.5},
                   details={"eta": etas, "error_vs_lambert_w": errs, "q_flow": q_flow},
                   config={"k": kk, "d": dd, "m": mm, "t": t_end, "sigma": 0.0})


RATE = Check(
    "C7.lambert_w", "Rate: |GD - Lambert-W flow| at t=2 ~ eta^1 (fitted slope)",
    "late regime built exactly, eta = 2/steps, steps 25..400", _measure_rate,
    rivals=(Rival("2 (a second-order scheme)", "GD as a second-order integrator of the flow"),
            Rival("1/2", "a noisy error")),
    faults=("gradient",))


def _measure_trained(ctx):
    from featavg.simulate import late_phase_start

    run = trained_large_d(ctx)
    kk, dd, mm, n, eta_ = run.config.k, run.config.d, run.config.m, run.config.n, run.config.eta
    H = run.history
    labels = run.cluster_labels
    i0 = late_phase_start(H, labels, mm)
    if i0 is None:
        raise RuntimeError("the trained run never reached the late regime (docs/science.md §2, C7)")
    step = ctx.claim("C7.gd_step").predictions["step"]
    Q = H["cluster_margins"]
    pred, meas, rival = [], [], []
    for s in (1, -1):
        idx = labels == s
        C_ = float(ctx.prediction(ID, "C")(dd, int(idx.sum()), mm, kk))
        qv = qr = float(Q[i0, idx].mean())
        for _ in range(int(H["step"][-1] - H["step"][i0])):
            qv = float(step(qv, eta_, C_))
            qr = float(step(qr, eta_, 2 * C_))
        pred.append(qv)
        rival.append(qr)
        meas.append(float(Q[-1, idx].mean()))
    pred = np.array(pred)
    band = Band(pred, (Term("CALIBRATED: finite-n correction of relative order k/n, coefficient 3 (to be derived)",
                            3.0 * kk / n * pred),))
    return Outcome(pred, np.array(meas), band, rivals={"C doubled (2 (d + p)/(mk))": np.array(rival)},
                   details={"late_from_step": int(H["step"][i0])}, config={"run": run.config.to_dict()})


TRAINED = Check(
    "C7.lambert_w.trained", "Trained net, late phase: class-mean margins vs the iterated GD map (Lambert-W regime)",
    "binary labels, k=10, d=1e6 (reduced engine), n=1000 (quick 500), m=5, eta d=3.072, 300 steps",
    _measure_trained, rivals=(Rival("C doubled (2 (d + p)/(mk))", "a factor 2 in the margin ODE's constant"),),
    faults=("gradient",))


def _margin_trajectories(ctx):
    from featavg._figures import BLUE, RED, new_figure
    from featavg._output import fmt
    from featavg.simulate import late_phase_start

    run = trained_large_d(ctx)  # the run of C7.lambert_w.trained (cached: trained once)
    cfg = run.config
    d, k, m, n, steps, eta = cfg.d, cfg.k, cfg.m, cfg.n, cfg.steps, cfg.eta
    H, labels = run.history, run.cluster_labels
    i0 = late_phase_start(H, labels, m)
    if i0 is None:
        raise RuntimeError("margin_trajectories: the trained run never reached the late regime")
    step_map = ctx.claim("C7.gd_step").predictions["step"]
    LW = {name: ctx.prediction(ID, name) for name in ("q", "C", "c_from_q0")}
    Q, S = H["cluster_margins"], np.asarray(H["step"])
    late_steps = S[i0:]
    classes = {}
    for s in (1, -1):
        idx = labels == s
        C = float(LW["C"](d, int(idx.sum()), m, k))
        q0 = float(Q[i0, idx].mean())
        q_map = [q0]
        for _ in range(int(late_steps[-1] - late_steps[0])):
            q_map.append(float(step_map(q_map[-1], eta, C)))
        q_map = np.array(q_map)[late_steps - late_steps[0]]
        q_flow = np.asarray(LW["q"](eta * (late_steps - late_steps[0]), C, float(LW["c_from_q0"](q0))), float)
        meas = Q[i0:, idx].mean(axis=1)
        classes[s] = {"C": C, "q0": q0, "map": q_map, "flow": q_flow, "measured": meas,
                      "rel_err_map": np.abs(meas - q_map) / q_map, "rel_err_flow": np.abs(meas - q_flow) / q_flow}

    # the same dynamics built exactly (noise-free balanced data, the check C7.gd_step): GD is the map
    e_eta, e_steps, e_q0, e_d = 0.02, 150, 0.5, 200
    exact, e_labels = late_regime_run(ctx, np.full(k, e_q0), e_eta, e_steps, k=k, d=e_d, m=m, every=1)
    eQ, eS = exact.history["cluster_margins"], np.asarray(exact.history["step"])
    eC = float(LW["C"](e_d, int(np.sum(e_labels > 0)), m, k))
    e_map = [e_q0]
    for _ in range(e_steps):
        e_map.append(float(step_map(e_map[-1], e_eta, eC)))
    e_map = np.array(e_map)
    e_flow = np.asarray(LW["q"](e_eta * eS, eC, float(LW["c_from_q0"](e_q0))), float)
    e_meas = eQ.mean(axis=1)
    e_err_map = np.abs(eQ - e_map[:, None]).max(axis=1) / e_map
    e_err_flow = np.abs(eQ - e_flow[:, None]).max(axis=1) / e_flow

    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    for j in range(k):
        ax.plot(S, Q[:, j], color=BLUE if labels[j] > 0 else RED, lw=0.6, alpha=0.5)
    for s, col, name in ((1, BLUE, "J+"), (-1, RED, "J−")):
        ax.plot(S, Q[:, labels == s].mean(axis=1), color=col, lw=2, label=f"GD, mean over {name}")
    for s, ls in ((1, "--"), (-1, ":")):
        ax.plot(late_steps, classes[s]["flow"], color="black", ls=ls, lw=1.3,
                label=f"Lambert-W flow ({'J+' if s > 0 else 'J−'}), C7.lambert_w")
    ax.axvline(S[i0], color="grey", lw=0.8, label=f"late regime from step {int(S[i0])}")
    ax.set_xlabel("GD step")
    ax.set_ylabel(r"margin $q_j = y_j f(\mu_j)$")
    ax.set_title(f"Trained net, d=1e6, n={n}: margins per cluster (thin)")
    ax.legend(fontsize=8, loc="lower right")

    tiny = 1e-17  # round-off floor on the log axis (an exact zero would vanish)
    tol = 3.0 * k / n
    for s, col, name in ((1, BLUE, "J+"), (-1, RED, "J−")):
        ax2.semilogy(late_steps[1:], np.maximum(classes[s]["rel_err_flow"][1:], tiny), color=col, lw=1.5,
                     label=f"trained, mean over {name} vs Lambert-W")
    ax2.semilogy(eS[1:], np.maximum(e_err_map[1:], tiny), color="black", lw=1.2,
                 label=f"built exactly (d={e_d}, σ=0) vs GD map (C7.gd_step)")
    ax2.semilogy(eS[1:], np.maximum(e_err_flow[1:], tiny), color="black", ls="--", lw=1.2,
                 label=f"built exactly vs Lambert-W flow (eta={e_eta:g})")
    ax2.axhline(tol, color="grey", ls=":", lw=1, label=f"finite-n scale 3k/n = {tol:g}")
    ax2.set_xlabel("GD step (of each run)")
    ax2.set_ylabel("relative error of the margin")
    ax2.set_title("Distance to the closed forms")
    ax2.set_ylim(1e-17, 1.0)
    ax2.legend(fontsize=7.5, loc="center right")
    fig.suptitle("Late phase: margins grow like log t, as the Lambert-W solution of the margin ODE (C7)")

    err_flow = max(float(classes[s]["rel_err_flow"].max()) for s in (1, -1))
    err_map = max(float(classes[s]["rel_err_map"].max()) for s in (1, -1))
    data = {"seed": ctx.seed, "config": cfg.to_dict(), "late_from_step": int(S[i0]),
            "C": {"+": classes[1]["C"], "-": classes[-1]["C"]},
            "final_mean_margin": {"+": float(classes[1]["measured"][-1]), "-": float(classes[-1]["measured"][-1])},
            "final_lambert_w": {"+": float(classes[1]["flow"][-1]), "-": float(classes[-1]["flow"][-1])},
            "final_gd_map": {"+": float(classes[1]["map"][-1]), "-": float(classes[-1]["map"][-1])},
            "max_relative_error_vs_lambert_w": err_flow, "max_relative_error_vs_gd_map": err_map,
            "finite_n_scale_3k_over_n": tol,
            "exact_construction": {"d": e_d, "eta": e_eta, "steps": e_steps, "q0": e_q0, "C": eC,
                                   "max_relative_error_vs_gd_map": float(e_err_map.max()),
                                   "max_relative_error_vs_lambert_w": float(e_err_flow.max()),
                                   "final_margin": float(e_meas[-1])}}
    caption = (f"Margins q_j = y_j f(mu_j) of a binary net trained at d=1e6 (k={k}, n={n}, m={m}, eta d=3.072, "
               f"{steps} steps, seed {ctx.seed}, reduced engine), from the late regime on (step {int(S[i0])}): the "
               f"class means follow the Lambert-W solution q(t) = c + Ct - W(e^(c+Ct)) within {fmt(err_flow)} "
               f"(relative; the GD map within {fmt(err_map)}), inside the finite-n scale 3k/n = {fmt(tol)}. The net "
               f"built exactly in the late regime (noise-free, d={e_d}) follows the GD map to round-off "
               f"({fmt(float(e_err_map.max()))}) and the flow to O(eta) ({fmt(float(e_err_flow.max()))}).")
    return fig, caption, data


MARGIN_TRAJECTORIES = Figure("margin_trajectories", "Late-phase margins vs the Lambert-W solution and the GD map",
                             _margin_trajectories, claims=(ID, "C7.margin_ode", "C7.gd_step"))
