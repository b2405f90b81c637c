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
from featavg.theory._claim import Text
from featavg.theory._common import d, evaluate_sums, factor_sums, k, m, p, sum_innermost, sums_equal

from featavg.claims._late import late_regime_run, margins

ID = "C7.gd_step"
ORDER = (7, 5)

q = sp.Symbol("q", real=True)
C, eta = sp.symbols("C eta", positive=True)


def derive():
    """The claim: one GD step maps q to q + eta C'/(1+e^q) exactly (q is linear in the parameters), any m, p, d."""
    from featavg.claims import c7_margin_ode as ode

    W, B, XI, Q, Z = ode.W, ode.B, ode.XI, ode.Q, ode.Z
    R, R0, A, A0, J = ode.R, ode.R0, ode.A, ode.A0, ode.J
    R1, A1 = sp.symbols("r_1 a_1", positive=True, integer=True)
    ranges = ode.RANGES + [(R1, 1, m), (A1, 1, d)]
    dW, db, qdot = ode.network_flow()

    def noise_free(e):
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base in (XI, ode.N), lambda x: sp.S.Zero)
        return e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == Z, lambda x: Q[x.indices[0]])

    dW0, db0, rate = noise_free(dW), noise_free(db), noise_free(qdot)
    qj = ode._pre_sum(J, noise=False) / m
    dq_dW = evaluate_sums(sp.diff(qj, W[R0, A0]), ranges)
    dq_db = evaluate_sums(sp.diff(qj, B[R0]), ranges)
    # one GD step: w_{r,a} -> w_{r,a} + eta dW(r, a), b_r -> b_r + eta db(r): the margin after it
    step_W = {W[R, A]: W[R, A] + eta * dW0.xreplace({R0: R, A0: A})}
    step_b = {B[R]: B[R] + eta * db0.xreplace({R0: R})}
    q_after = evaluate_sums(factor_sums(ode._gram(factor_sums(sum_innermost(factor_sums(
        qj.xreplace(step_W).xreplace(step_b)), A)), A)), ranges)
    q_equal = rate.replace(lambda x: isinstance(x, sp.Indexed) and x.base == Q, lambda x: q)
    Cp = (d + p) / (m * k)

    def linear(st):
        second = [sp.diff(dq_dW, W[R1, A1]), sp.diff(dq_dW, B[R1]), sp.diff(dq_db, W[R1, A1]), sp.diff(dq_db, B[R1])]
        return all(evaluate_sums(x, ranges) == 0 for x in second) and st.rhs == 0

    def exact_step(st):
        return sums_equal(q_after - qj, st.rhs.xreplace({sp.Symbol("qdot_j"): rate}), ranges)

    def equal_margins(st):
        return is_zero(q + eta * evaluate_sums(q_equal, ranges) - st.rhs.subs(C, Cp))

    theta = sp.Symbol("theta", real=True)  # any of the parameters w_{r,a}, b_r
    statement = sp.Eq(sp.Symbol("q_t+1"), (q + eta * C / (1 + sp.exp(q))))
    qdot_j = sp.Symbol("qdot_j")
    steps = (
        Step(Text("the margin ", Q[J], " is linear in the weights and biases (for every ", m, ", ", d, "): "
                  "its second derivatives vanish"),
             sp.Eq(sp.Derivative(notation("q_j")(theta), (theta, 2)), 0, evaluate=False), linear),
        Step(Text("so one GD step of rate ", eta, " on noise-free data moves it by exactly ", eta,
                  " times its flow derivative ", qdot_j, " (C7.margin_ode), with no second-order term"),
             sp.Eq(sp.Symbol("q_j,t+1") - sp.Symbol("q_j,t"), eta * qdot_j, evaluate=False), exact_step),
        Step(Text("equal margins: ", sp.Eq(sp.Symbol("q_t+1"), q + eta * C / (1 + sp.exp(q)), evaluate=False),
                  " with ", sp.Eq(C, Cp, evaluate=False)),
             sp.Eq(sp.Symbol("q_t+1"), q + eta * C / (1 + sp.exp(q)), evaluate=False), equal_margins),
    )
    preds = {"step": lambdify_prediction([q, eta, C], statement.rhs, "q -> q + eta C'/(1+e^q), C' = (d + |J_s|)/(m k)")}
    return Claim(id=ID, title="Exact one-step GD map of equal margins", statement=statement,
                 assumptions=Text("As C7.margin_ode, noise-free data; the activation pattern does not change during "
                                  "the step; ", sp.Eq(C, Cp, evaluate=False), "."),
                 regime="late phase, noise-free data (exact)", steps=steps, predictions=preds)


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
