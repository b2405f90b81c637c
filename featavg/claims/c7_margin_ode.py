r"""C7.margin_ode: the late-phase per-cluster margin ODE (logistic loss, binary labels).

Late phase (docs/science.md §2, C7): all own-class neurons active on all own-class clusters,
opposite-class neurons inactive; leading order in ``d`` and ``n``, noise averaged out. In
coordinates where :math:`\mu_j = \sqrt d\, e_j`, write :math:`w_{s,r} = \sum_i u_{r,i} e_i + (\perp)`;
then :math:`q_j = y_j f(\mu_j) = \frac1m \sum_r (\sqrt d\, u_{r,j} + b_r)` for :math:`j \in J_s`,
and the population risk restricted to those clusters is :math:`\frac1k\sum_{j\in J_s}\ell(q_j)`.
Gradient flow on it gives

.. math:: \dot q_j = \frac{1}{mk}\Big(d\,g_j + \sum_{i\in J_s} g_i\Big),\qquad g_j = \frac{1}{1+e^{q_j}}:

lagging clusters (larger ``g_j``) catch up. The coupling :math:`\sum_i g_i` (the biases) is a
relative :math:`|J_s|/d` of the rate: visible only at small ``d``.

Evidence: nets trained at small ``d`` (d = 20, where the coupling is 20% of the rate): their margins'
increase over the late phase against the finite-``n`` map (appended to the derivation) with and
without the coupling. The built regime's one-step identity is a test of the implementation
(``tests/test_late_regime.py``).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, quantile
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, g, k, m

t = sp.Symbol("t", nonnegative=True)
q, q0 = sp.symbols("q q_0", real=True)
C, eta = sp.symbols("C eta", positive=True)

from featavg.claims._late import describe, late_windows

ID = "C7.margin_ode"
ORDER = (7, 2)


def margin_rhs(qs, j, p=None):
    r"""The claimed :math:`\dot q_j = \frac1{mk}(d g_j + \sum_{i\in J_s} g_i)` (``qs`` lists ``q_i, i in J_s``)."""
    return (d * g(qs[j]) + sum(g(qi) for qi in qs)) / (m * k)


def _flow_margin_derivative(M, p):
    """dq_j/dt computed by SymPy from gradient flow on the L2 population risk (m = M, |J_s| = p)."""
    u = sp.Matrix(M, p, lambda r, i: sp.Symbol(f"u_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    qs = [sum(sp.sqrt(d) * u[r, j] + b[r] for r in range(M)) / M for j in range(p)]
    L = sum(sp.log(1 + sp.exp(-qj)) for qj in qs) / k
    params = list(u) + list(b)
    flow = {th: -sp.diff(L, th) for th in params}  # d theta / dt = -dL/dtheta
    qdot = [sum(sp.diff(qj, th) * flow[th] for th in params) for qj in qs]
    Q = sp.symbols(f"Q_0:{p}", real=True)
    back = {qs[j]: Q[j] for j in range(p)}
    return [sp.simplify(qd.subs(back)) for qd in qdot], Q, M


def derive():
    """The claim: the chain rule through gradient flow on the late-phase risk gives the ODE."""
    p_ = sp.Abs(sp.Symbol("J_s"))
    qj, i = notation("q_j")(t), sp.Symbol("i")
    gi = notation("g_i")(t)
    statement = sp.Eq(sp.Derivative(qj, t), (d / (1 + sp.exp(qj)) + sp.Sum(gi, (i, 1, p_))) / (m * k))

    def ode(M, p):
        """The ODE for the first margin at m = M, |J_s| = p, margins q_1(t), ..., q_p(t)."""
        qf = [notation(f"q_{j + 1}")(t) for j in range(p)]
        return sp.Eq(sp.Derivative(qf[0], t), margin_rhs(qf, 0).subs(m, M), evaluate=False)

    def check(M, p):
        qdot, Q, Mval = _flow_margin_derivative(M, p)
        return all(is_zero(qdot[j] - margin_rhs(Q, j).subs(m, Mval)) for j in range(p))

    steps = tuple(
        Step(f"chain rule through gradient flow equals the ODE (m={M}, |J_s|={p})", ode(M, p),
             lambda M=M, p=p: check(M, p), generality="instance", instances=f"m = {M}, |J_s| = {p}")
        for M, p in ((1, 2), (2, 2), (2, 3))
    )
    rhs_equal = (d + sp.Symbol("p", positive=True)) * g(q) / (m * k)
    preds = {
        "qdot_equal_margins": lambdify_prediction(
            [q, d, m, k, sp.Symbol("p", positive=True)], rhs_equal,
            "dq/dt = (d + p)/(m k) * 1/(1+e^q) when all p = |J_s| margins equal q"),
        "g": lambdify_prediction([q], g(q), "g(q) = 1/(1+e^q)"),
        "rate": lambdify_prediction([q, sp.Symbol("S"), d, m, k], (d * g(q) + sp.Symbol("S")) / (m * k),
                                    "dq_j/dt = (d g(q_j) + S)/(m k), S = sum_{i in J_s} g(q_i)"),
        "rate_uncoupled": lambdify_prediction([q, d, m, k], d * g(q) / (m * k),
                                              "dq_j/dt = d g(q_j)/(m k): the ODE without the coupling term (a rival)"),
    }
    more_steps, more_preds = _finite_n()  # appended (issue 14): the trained net's finite-n, finite-d map
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(
        id=ID, title="Late-phase per-cluster margin ODE (logistic loss, binary labels)",
        statement=statement,
        assumptions="Orthogonal equinorm features (Assumption 3.2); q_j = y_j f(mu_j); noise averaged out.",
        regime="late phase, leading order in d and n: own-class neurons active on all own clusters, "
               "opposite-class neurons inactive; corrections O(k/n) and O(sqrt(k/d)) not included",
        steps=steps, predictions=preds)


def _finite_n():
    r"""The late-phase map of a trained net at finite ``n`` and ``d`` (appended to :func:`derive`).

    A trained net is not the idealised late regime: its training points are not the centres
    ``mu_j``. Write :math:`u_i = y_i f(x_i)` for a training point of cluster ``c_i`` in ``J_s``
    and :math:`q_j = y_j f(\mu_j)`. With the leading-order Gram matrix of the data
    (:math:`\langle\mu_j,\mu_{j'}\rangle = d\,\delta`, :math:`\langle\xi_i,\xi_{i'}\rangle =
    \sigma^2 d\,\delta`, :math:`\langle\mu,\xi\rangle = 0`; the dropped noise inner products are
    bounded by the checks) one GD step of the own-class neurons, active on every own-class point,
    moves

    .. math:: \Delta q_j = \frac{\eta}{m}\Big(d\,\pi_j \bar g_j + \sum_{c\in J_s}\pi_c \bar g_c\Big),
              \qquad \Delta u_i = \Delta q_{c_i} + \frac{\eta\,\sigma^2 d}{m n}\, g(u_i),

    :math:`\pi_j = n_j/n`, :math:`\bar g_j` the mean of :math:`g(u_i)` over cluster ``j``: the
    cluster weights are the counts, and each point's own noise (:math:`\|\xi_i\|^2 = \sigma^2 d`)
    adds to its own margin only, a relative :math:`1/n_j \approx k/n` of the rate.

    The coupling is the biases' share. When the opposite-class neurons of sign ``s`` fire on some
    points of the ``K = |J_{-s}|`` opposite clusters (a trained net's opposite neurons sit at their
    activation boundary there), those points pull the biases down: with :math:`B` the coupling's
    increment over a window and :math:`\Delta z_{j'}` the change of the neuron's pre-activation at
    :math:`\mu_{j'}` (its gradient on :math:`\mu_{j'}` is :math:`-d` times the pull on its bias),
    :math:`\Delta b = (d B + \sum_{j'}\Delta z_{j'})/(d + K)`: a factor :math:`d/(d+K)` on the
    coupling when the boundary is stationary, and a drift term.
    """
    dd, nn, et, sg = sp.symbols("d n eta sigma", positive=True)
    ell = sp.Function("ell")
    M_, sizes = 2, (2, 1)  # m = 2 neurons, two own clusters of 2 and 1 training points
    P_ = len(sizes)
    cl = [c for c, s_ in enumerate(sizes) for _ in range(s_)]
    N_, D_ = len(cl), len(sizes) + len(cl)
    basis = sp.eye(D_)
    mu = [sp.sqrt(dd) * basis[:, j] for j in range(P_)]                  # mu_j = sqrt(d) e_j
    X = [mu[c] + sg * sp.sqrt(dd) * basis[:, P_ + i] for i, c in enumerate(cl)]  # x_i = mu_c + xi_i
    W = sp.Matrix(M_, D_, lambda r, a: sp.Symbol(f"w_{r}_{a}", real=True))
    b = sp.Matrix(M_, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))

    def z(r, x):
        return (W[r, :] * x)[0] + b[r]

    u = [sp.expand(sum(z(r, X[i]) for r in range(M_)) / M_) for i in range(N_)]
    qc = [sum(z(r, mu[j]) for r in range(M_)) / M_ for j in range(P_)]
    L = sum(ell(ui) for ui in u) / nn  # the other class's points do not reach these neurons
    params = list(W) + list(b)
    G = sp.symbols(f"g_0:{N_}", positive=True)  # g(u_i) = -ell'(u_i)
    xs = sp.Symbol("x")
    minus_g = {sp.Subs(sp.Derivative(ell(xs), xs), xs, u[i]): -G[i] for i in range(N_)}
    new = {th: th - et * sp.diff(L, th).xreplace(minus_g) for th in params}
    pi_j, g_j, S_, kap = sp.symbols("pi_j g_j S kappa", nonnegative=True)
    dq_map = et / m * (d * pi_j * g_j + kap * S_)
    self_map = et * sg ** 2 * d * g_j / (m * nn)

    def gd_identity():
        ok = True
        for j in range(P_):
            mine = [i for i in range(N_) if cl[i] == j]
            Sj = sum(G[i] for i in mine)
            target = dq_map.subs({m: M_, d: dd, pi_j: len(mine) / nn, g_j: Sj / len(mine),
                                  S_: sum(G) / nn, kap: 1})
            ok &= is_zero(qc[j].xreplace(new) - qc[j] - target)
        for i in range(N_):
            dqc = qc[cl[i]].xreplace(new) - qc[cl[i]]
            ok &= is_zero(u[i].xreplace(new) - u[i] - dqc - self_map.subs({m: M_, d: dd, g_j: G[i]}))
        return ok

    def logistic_derivative():
        return is_zero(sp.diff(sp.log(1 + sp.exp(-q)), q) + g(q))

    Kk, Bb, Zz, Ab, db = sp.symbols("K B Z A Delta_b", real=True)  # Delta_b: the biases' change
    # Delta z_{j'} = -d Abar_{j'} + Delta b (summed: Z = -d A + K Delta b), Delta b = B - A
    bias_sol = sp.solve([sp.Eq(Zz, -d * Ab + Kk * db), sp.Eq(db, Bb - Ab)], [db, Ab], dict=True)
    bias_rhs = (d * Bb + Zz) / (d + Kk)

    def boundary():
        return len(bias_sol) == 1 and is_zero(bias_sol[0][db] - bias_rhs)

    qs = sp.symbols("Q_0:3", real=True)

    def limit_l2():
        # pi_j = 1/k, the self term gone (n -> oo), kappa = 1, u = q: the Euler step of the ODE
        S_l2 = sum(g(qi) for qi in qs) / k
        step = dq_map.subs({pi_j: 1 / k, g_j: g(qs[0]), S_: S_l2, kap: 1})
        return is_zero(step - et * margin_rhs(qs, 0)) and sp.limit(self_map, nn, sp.oo) == 0

    Delta = notation("Delta")
    Dq, Du = Delta(sp.Symbol("q_j")), Delta(sp.Symbol("u_i"))
    gi_, ii = notation("g_i")(t), sp.Symbol("i")
    steps = (
        Step("logistic loss: ell'(q) = -g(q)", sp.Eq(sp.Derivative(sp.log(1 + sp.exp(-q)), q), -g(q), evaluate=False),
             logistic_derivative),
        Step("one GD step at finite n (leading-order Gram, own neurons active on own points): centre margins "
             "move by (eta/m)(d pi_j gbar_j + sum_c pi_c gbar_c), each training point's margin by that plus its "
             "own noise's eta sigma^2 d g(u_i)/(m n)",
             sp.And(sp.Eq(Dq, dq_map.subs(kap, 1), evaluate=False), sp.Eq(Du, Dq + self_map.subs(g_j, sp.Symbol("g_i")),
                                                                         evaluate=False)),
             gd_identity, generality="instance", instances="m = 2, clusters of 2 and 1 training points"),
        Step("opposite neurons at their boundary pull the biases: Delta b = (d B + sum_j' Delta z_j')/(d + K)",
             sp.Eq(db, bias_rhs, evaluate=False), boundary),
        Step("n -> oo (pi_j = 1/k, no self term, kappa = 1, u = q): the map is the Euler step of the ODE",
             sp.Eq(dq_map.subs({pi_j: 1 / k, kap: 1, S_: sp.Sum(gi_, (ii, 1, sp.Abs(sp.Symbol("J_s")))) / k}),
                   et * (d * g_j + sp.Sum(gi_, (ii, 1, sp.Abs(sp.Symbol("J_s"))))) / (m * k), evaluate=False),
             limit_l2),
    )
    preds = {
        "finite_n_increment": lambdify_prediction(
            [et, m, d, pi_j, g_j, S_, kap], dq_map,
            "one GD step of the centre margin q_j at finite n: (eta/m)(d pi_j g_j + kappa S), pi_j = n_j/n, "
            "g_j = mean g(u_i) over cluster j, S = sum_{c in J_s} pi_c g_c, kappa the bias factor"),
        "self_increment": lambdify_prediction(
            [et, m, d, nn, sg, g_j], self_map,
            "the extra step of a training point's own margin from its own noise: eta sigma^2 d g(u_i)/(m n)"),
        "bias_factor": lambdify_prediction([d, Kk], bias_rhs.subs({Bb: 1, Zz: 0}),
                                           "d/(d + K): the coupling's factor when the opposite neurons ride their boundary"),
        "boundary_drift": lambdify_prediction([Zz, d, Kk], bias_rhs.subs(Bb, 0),
                                              "Z/(d + K): the biases' change from a drift Z = sum_j' Delta z_j' of the boundary"),
    }
    return steps, preds


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.claims._late import iterate_map, neglected

    wins, skipped = late_windows(ctx, "small_d")
    variants = {"no coupling (d g_j/(mk))": dict(coupling="none"),
                "coupling with the opposite neurons inactive (kappa = 1, the L2 claim)": dict(coupling="inactive"),
                "coupling over all k clusters": dict(all_clusters=True)}
    pred, meas, base, sd2, bnd = [], [], [], [], []
    rival = {name: [] for name in variants}
    per_bound = {}
    for w in wins:
        qm, um, info = iterate_map(ctx, w)
        stat, bound = neglected(w, qm, um, info)
        pred.append(qm - w.q0)
        meas.append(w.q1 - w.q0)
        base.append(iterate_map(ctx, w, coupling="inactive", self_term=False, counts=False, drift=False)[0] - w.q0)
        sd2.append(sum(stat.values()) ** 2)  # per cluster: the sds added (shared projections); clusters independent
        bnd.append(sum(bound.values()))
        for name, value in bound.items():
            per_bound.setdefault(name, []).append(value)
        for name, kw in variants.items():
            rival[name].append(iterate_map(ctx, w, **kw)[0] - w.q0)
    count = sum(v.size for v in meas)
    z = quantile()
    sd_mean = float(np.sqrt(np.sum(np.concatenate(sd2)))) / count
    band = Band(float(np.mean(np.concatenate(pred))), (
        Term(f"z = {z:.3g} x sd of the mean over {count} cluster increments of the neglected noise terms "
             "(N_j + M_j + noise-noise + boundary identity + self-norm, per cluster; clusters and seeds independent)",
             z * sd_mean, "stat"),
        *(Term(name + " (mean over clusters and seeds)", float(np.mean(np.concatenate(v)))) for name, v in per_bound.items())))
    mean = lambda xs: float(np.mean(np.concatenate(xs)))  # noqa: E731
    w0 = wins[0]
    coupling_share = float(np.mean(np.concatenate(pred)) - mean(rival["no coupling (d g_j/(mk))"]))
    return Outcome(mean(pred), mean(meas), band, rivals={name: mean(v) for name, v in rival.items()},
                   seeds=[w.seed for w in wins], baseline=mean(base),
                   details={"windows": [w.summary() for w in wins], "skipped_seeds_outside_the_regime": skipped,
                            "coupling_increment": coupling_share, "per_cluster_measured": np.concatenate(meas),
                            "per_cluster_predicted": np.concatenate(pred)},
                   config={"run": w0.config.to_dict(), "window": [w0.spec["t0"], w0.spec["T"]]})


ONE_STEP = Check(
    "C7.margin_ode",
    "Trained net at small d: the margins' late-phase increase vs the margin ODE with its coupling sum_i g_i "
    "(finite-n map; the measured counts, state at t0 and boundary drift)",
    describe("small_d") + "; the coupling is p/(d + p) = 20% of the rate, times d/(d + K) = 0.8 as the "
    "opposite neurons ride their boundary",
    _measure,
    rivals=(Rival("no coupling (d g_j/(mk))", "the biases' coupling between clusters dropped"),
            Rival("coupling with the opposite neurons inactive (kappa = 1, the L2 claim)",
                  "the coupling as in the idealised late regime, without the boundary's pull on the biases"),
            Rival("coupling over all k clusters", "the coupling summed over both classes")),
    faults=("gradient", "untrained", "closed_form"))
