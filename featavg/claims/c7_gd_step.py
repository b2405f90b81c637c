r"""C7.gd_step: the exact one-step GD map of equal margins.

In the late regime the margins are linear in the parameters ``(u, b)``, so one GD step with rate
``eta`` on the late-phase risk maps equal margins ``q`` exactly to :math:`q + \eta C'/(1+e^q)`,
:math:`C' = (d + |J_s|)/(mk)` (no second-order term), provided no activation changes during the step.

Evidence: simulator GD on a net built in the late regime against the iterated map.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, round_off
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, g, k, m

from featavg.claims._late import late_regime_run, margins

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

def _measure(ctx):
    kk, dd, mm, eta_, steps, q_init = 10, 200, 5, 0.02, 50, 0.5
    run, labels = late_regime_run(ctx, np.full(kk, q_init), eta_, steps, k=kk, d=dd, m=mm)
    p_ = kk // 2
    C_ = float(ctx.claim("C7.lambert_w").predictions["C"](dd, p_, mm, kk))
    step = ctx.prediction(ID, "step")
    qv, q_flow_rival = q_init, q_init
    for _ in range(steps):
        qv = float(step(qv, eta_, C_))
        q_flow_rival = float(step(q_flow_rival, eta_, C_ * dd / (dd + p_)))
    meas = margins(run)
    pred = np.full(kk, qv)
    band = Band(pred, (Term(f"round-off accumulated over {steps} steps: 8 steps eps q", round_off(qv, 8 * steps)),))
    return Outcome(pred, meas, band, rivals={"C' = d/(mk) (no bias coupling)": np.full(kk, q_flow_rival)},
                   details={"max_relative_error": float(np.max(np.abs(meas - qv)) / qv)},
                   config={"k": kk, "d": dd, "m": mm, "eta": eta_, "steps": steps, "sigma": 0.0})


MAP = Check(
    "C7.gd_step", "Simulator GD on equal margins vs the iterated map q + eta C'/(1+e^q)",
    "late regime built exactly (as C7.margin_ode), eta=0.02, 50 steps", _measure,
    rivals=(Rival("C' = d/(mk) (no bias coupling)", "the map without the |J_s| of the biases"),),
    faults=("gradient",))
