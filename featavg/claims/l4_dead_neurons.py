r"""L4.dead_neurons: a neuron is dead at initialisation with probability ``prod_{j in J_s} 1/(n_j + 1)``;
whether it stays dead is decided by the first GD step.

Dead at init. A neuron ``(s, r)`` is *dead* when it fires on no training point of its own class
(:func:`featavg.lemmas.dead_at_init`). By L3.activation_fractions, given its coordinate
``A_j`` along ``mu_j`` it is off on each point of cluster ``j`` with probability ``Phi(-A_j)``,
which is uniform, so it is off on all ``n_j`` of them with probability ``E[U^{n_j}] = 1/(n_j + 1)``,
independently over its own clusters:

.. math:: P(\text{dead}) = \prod_{j \in J_s} \frac{1}{n_j + 1}
          \qquad (5.6\%\ \text{at}\ n_j = 17,\ \text{negligible at the paper's}\ n_j \approx 100,\ |J_s| = 5).

An exact probability: the test is two-sided, at ``n_j = 5, 17, 100`` and for ``J_s`` of sizes
``(5, 17)``; the rivals are ``1/n_j`` (an off-by-one) and the prediction halved. Finite ``d`` is
bounded as in L3 (``S = (sqrt d A + beta)/sqrt(d+1)`` is exactly standard normal, ``T = S/rho``;
for two clusters the two ``S_j`` share the bias, correlation ``1/(d+1)``, total variation
``<= sqrt(-log(1 - (d+1)^{-2})/4)`` by Pinsker).

Stays dead? A neuron firing on no training point has zero gradient (``ReLU'(0) = 0``) and never
moves again. A dead neuron still fires on ``a`` points of the opposite class (``a`` uniform on
``{0..n'}`` by L3), and the first GD step moves it by ``-(eta/(2nm)) sum_{i active} x_i``
(``-l'(0) = 1/2``). Every opposite point's pre-activation then drops by about
``eta a d/(2nm)`` (the shared feature ``mu_{j'}``): it is off from step 1 on. An own point ``p``
receives a kick of zero mean; in units of ``sigma_w sqrt d``,

.. math:: z_p(1) = v_p - \varepsilon\,(c_1 G_p + c_2 H + a/\sqrt d),\qquad
          \varepsilon = \frac{\eta}{2 n m \sigma_w},\ c_1 = \sqrt{a^2 + a},\ c_2 = \sqrt a,

``v_p = z_p(0)/(sigma_w sqrt d) < 0``, ``G_p`` i.i.d. and ``H`` (shared by the cluster) standard
normals (from ``<a mu_{j'} + u, xi_p>`` and ``<u, mu_j>``, ``u`` the sum of the active opposite
noises), to leading order in ``1/sqrt d``. So the neuron revives iff some own point fires at
step 1, and given the initial margins

.. math:: P(\text{stays dead} \mid v, a) = E_H \prod_p \Phi\Big(\frac{-v_p + \varepsilon c_2 H + \varepsilon a/\sqrt d}{\varepsilon c_1}\Big)
          \;\to\; 1 \quad (\varepsilon \to 0).

The issue's statement "a neuron dead at initialisation stays dead" is the limit ``eps -> 0``; at
``eps = 1`` about a third of the dead neurons revive. The check on trajectories measures the
revival fraction of GD runs against this prediction (which uses each run's measured initial
margins and active count), two-sided; the rivals are "stays dead" (revival 0) and the revival
probability halved. At the paper's setting ``eps = 1e-3/(2 1000 5 1e-5) = 0.01`` but
``eps c_1 ~ eps n/(2k) ~ 0.5``: revival is common there too.

Evidence: the exact one-neuron reduced coordinates (dead at init, ``d = 10^6``); GD runs of the
simulator (reduced engine, ``k = 2``, ``n = 6``, ``m = 1``, ``d = 10^6``,
``sigma_w = 1e-6``, ``eta = 2 n m sigma_w eps``, ``eps = 1``, 4 steps), one neuron per run.
"""

import math

import numpy as np
import sympy as sp

from featavg.claims._lemma_sympy import chi_moment_steps, finite_d_bound, lemma_lambdify
from featavg.evidence import Check, Rival, Term
from featavg.lemmas import LEMMA_CONSTANT, dead_at_init, exact_outcome, one_neuron_preactivations
from featavg.theory import Claim, Step, Text, is_zero, notation
from featavg.theory._common import Phi, explicit, phi, sqrt_as_written

ID = "L4.dead_neurons"
ORDER = (8, 3)

nj = sp.Symbol("n_j", positive=True, integer=True)
n1, n2 = sp.symbols("n_1 n_2", positive=True, integer=True)
u1, u2 = sp.symbols("u_1 u_2", positive=True)
T = sp.Symbol("T", real=True)
v, eps, c1, c2, H, a_, dd = sp.symbols("v epsilon c_1 c_2 H a d", real=True)
eta, n, m, sw = sp.symbols("eta n m sigma_w", positive=True)

D_INIT = 10 ** 6
SIZES = (5, 17, 100)
PAIR = (5, 17)
# trajectories
TRAJ = {"k": 2, "positive": 1, "n": 6, "m": 1, "d": 10 ** 6, "init_scale": 1e-6, "eps": 1.0, "steps": 4}


def derive():
    r"""``E[U^n] = 1/(n+1)``, the product, and the first-step revival probability."""
    dead = 1 / (nj + 1)
    P = notation("P")
    stay_factor = Phi((-v + eps * c2 * H + eps * a_ / sp.sqrt(dd)) / (eps * c1))
    statement = sp.And(sp.Eq(P(sp.Symbol("dead")), sp.Product(1 / (sp.Symbol("n_j") + 1),
                                                              (sp.Symbol("j"), 1, sp.Abs(sp.Symbol("J_s")))), evaluate=False),
                       sp.Eq(P(sp.Symbol("stays"), sp.Symbol("v, a")),
                             sp.Symbol("E_H") * sp.Product(stay_factor, (sp.Symbol("p"), 1, nj)), evaluate=False),
                       evaluate=False)
    z = sp.Symbol("z", real=True)
    kick_var = (eta / (2 * n * m)) ** 2 * (a_ ** 2 * dd + a_ * dd + a_ * dd) / (sw ** 2 * dd)
    E, G, h = notation("E"), notation("G"), notation("h")
    A, U = sp.Symbol("A", real=True), sp.Symbol("U", positive=True)
    J_s = sp.Abs(sp.Symbol("J_s"))

    def all_off(st):
        # off on one point given A with probability Phi(-A) = 1 - Phi(A) (the reflection), uniform by
        # L3.activation_fractions, so off on all n_j (independent given A) with E[U^n_j] = int_0^1 u^n_j du
        reflection = sp.simplify(explicit(Phi(-A) + Phi(A))) == 1
        return reflection and is_zero(sp.integrate(u1 ** nj, (u1, 0, 1)) - st.rhs)

    def fubini(st):
        # the last own cluster's uniform U_2 is independent of the others' (G carries them): Fubini integrates
        # its factor out; from G = 1 (no cluster), by induction, P(dead) = prod_j 1/(n_j + 1)
        step = sp.integrate(G(u1) * u2 ** n2, (u2, 0, 1), (u1, 0, 1))
        two = sp.integrate(u1 ** n1 * u2 ** n2, (u1, 0, 1), (u2, 0, 1))
        return is_zero(step - st.rhs) and is_zero(two - st.rhs.subs(G(u1), u1 ** n1).doit())

    def sup_derivative(st):
        # the chain rule on h(T) = Phi(-T)^n_j, Phi written out (erf)
        derived = sp.diff(explicit(Phi(-T)) ** nj, T)
        return sp.simplify(derived / explicit(st.rhs)) == 1

    def zero_gradient(st):
        # ReLU(z) = max(z, 0): its derivative at z = -w < 0, and the convention ReLU'(0) = Heaviside(0, 0) = 0 of
        # the simulator; every term of the neuron's gradient carries that factor
        w = sp.Symbol("w", positive=True)
        below = sp.diff(sp.Max(z, 0), z).subs(z, -w)
        return is_zero(below - st.rhs) and is_zero(sp.Heaviside(0, 0) - st.rhs)

    def kick(st):
        # the active opposite points: a features mu' (norm sqrt d) and u, the sum of their a noises; own point
        # p = mu_j + xi_p. <a mu' + u, xi_p> has variance E||a mu' + u||^2 = a^2 d + 2a <mu', E u> + E||u||^2,
        # E u = 0 and E||u||^2 = sum of a chi-square means d; <u, mu_j> (shared) has variance a d. In units of
        # sigma_w sqrt d, times the step's scale eta/(2nm)
        i_ = sp.Symbol("i", integer=True, positive=True)
        noise_sq = sp.Sum(dd, (i_, 1, a_)).doit()
        point = a_ ** 2 * dd + 2 * a_ * 0 + noise_sq
        shared = sp.Sum(dd, (i_, 1, a_)).doit()
        derived = (eta / (2 * n * m)) ** 2 * (point + shared) / (sw ** 2 * dd)
        return is_zero(derived - st.lhs) and is_zero(derived - st.rhs)

    def stays_off(st):
        # with w = -v > 0, eps, c_1 > 0: the argument (w + eps c_2 H)/(eps c_1) tends to +oo, Phi to 1; and the
        # probability of eps c_1 G >= v - eps c_2 H (- eps a/sqrt d) is the normal density integrated below it
        w, e_, c_ = sp.symbols("w epsilon_0 c_0", positive=True)
        limit = sp.limit(explicit(Phi((w + e_ * c2 * H) / (e_ * c_))), e_, 0, "+")
        law = is_zero((sp.integrate(explicit(phi(z)), (z, -sp.oo, (-v + eps * c2 * H) / (eps * c1)))
                       - stay_factor.subs(a_, 0)).rewrite(sp.erf))
        return law and is_zero(limit - st.rhs)

    steps = (
        Step(Text("off on all ", nj, " points given ", A, " with probability ", Phi(-A) ** nj, "; ",
                  sp.Eq(U, Phi(-A), evaluate=False), " is uniform, so ",
                  sp.Eq(E(U ** nj), 1 / (nj + 1), evaluate=False)),
             sp.Eq(sp.Integral(u1 ** nj, (u1, 0, 1)), dead, evaluate=False), all_off),
        Step(Text("independent ", sp.Symbol("A_j"), " over the own clusters: the last cluster's factor integrates out "
                  "(Fubini), so by induction over the ", J_s, " own clusters the probability is the product of their ",
                  1 / (nj + 1)),
             sp.Eq(sp.Integral(G(u1) * u2 ** n2, (u1, 0, 1), (u2, 0, 1)), sp.Integral(G(u1), (u1, 0, 1)) / (n2 + 1),
                   evaluate=False), fubini),
        Step(Text("finite d: ", sp.Eq(h(T), Phi(-T) ** nj, evaluate=False), " has ",
                  sp.Eq(sp.Derivative(h(T), T), -nj * Phi(-T) ** (nj - 1) * phi(T), evaluate=False),
                  " (the supremum of its absolute value enters the bound)"),
             sp.Eq(sp.Derivative(Phi(-T) ** nj, T), -nj * Phi(-T) ** (nj - 1) * phi(T), evaluate=False),
             sup_derivative),
        *chi_moment_steps(Step, is_zero),
        Step(Text("a neuron firing on no point has zero gradient: the ReLU derivative ", sp.Heaviside(z, 0),
                  " vanishes for ", sp.Le(z, 0, evaluate=False)),
             sp.Eq(sp.Heaviside(-sp.Abs(z), 0), 0, evaluate=False), zero_gradient),
        Step(Text("first-step kick on an own point, in units of ", sw * sqrt_as_written(dd), ": variance ",
                  eps ** 2 * (a_ ** 2 + a_), " per point plus ", eps ** 2 * a_, " shared, ",
                  sp.Eq(eps, eta / (2 * n * m * sw), evaluate=False)),
             sp.Eq(kick_var, (eta / (2 * n * m * sw)) ** 2 * ((a_ ** 2 + a_) + a_), evaluate=False), kick),
        Step(Text("given ", sp.Lt(v, 0, evaluate=False), " and ", H, ", the point stays off iff ",
                  sp.Ge(eps * c1 * sp.Symbol("G"), v - eps * c2 * H - eps * a_ / sp.sqrt(dd), evaluate=False),
                  ": probability ", stay_factor, ", which tends to 1 as ", eps, " tends to 0 (stays dead)"),
             sp.Eq(sp.Limit(Phi((-v + eps * c2 * H) / (eps * c1)), eps, 0, "+"), 1, evaluate=False), stays_off),
    )
    f_stay = lemma_lambdify([v, eps, c1, c2, H, a_, dd], stay_factor,
                            "P(own point with margin v stays off at step 1 | H)")
    gh_x, gh_w = np.polynomial.hermite_e.hermegauss(48)
    gh_w = gh_w / gh_w.sum()

    def revival(margins, a, eps_, d_):
        """1 - E_H prod_p Phi((-v_p + eps c_2 H + eps a/sqrt d)/(eps c_1)) (Gauss-Hermite, 48 nodes) for one
        dead neuron with normalised initial margins ``margins`` (shape (n_j,)) on its own points and ``a`` active
        opposite points; 0 when a = 0 (no kick)."""
        if a == 0 or len(margins) == 0:
            return 0.0
        with np.errstate(under="ignore"):
            fac = f_stay(np.asarray(margins)[None, :], eps_, math.sqrt(a * a + a), math.sqrt(a), gh_x[:, None], a, d_)
            return float(1.0 - gh_w @ np.prod(fac, axis=1))
    preds = {
        "dead": lemma_lambdify([nj], dead, "P(off on all n_j points of a cluster) = 1/(n_j + 1)"),
        "dead_rival": lemma_lambdify([nj], 1 / nj, "rival: 1/n_j (off by one)"),
        "dead_derivative": lemma_lambdify([T, nj], sp.diff(Phi(-T) ** nj, T), "h'(T) for h = Phi(-T)^n_j"),
        "revival": revival,
    }
    f, sigma_b = sp.Symbol("f"), sp.Symbol("sigma_b", positive=True)
    return Claim(id=ID, title=Text("Dead at init with probability the product of ", 1 / (nj + 1), " over the own "
                                   "clusters; revived by the first step with a "
                                   "derived probability (stays dead as ", eps, " tends to 0)"),
                 statement=statement,
                 assumptions=Text("small initialisation (", sw * sqrt_as_written(dd), " much smaller than 1, so ",
                                  sp.Eq(-sp.Derivative(notation("l")(f), f), sp.Rational(1, 2), evaluate=False),
                                  " at step 0), ", sp.Eq(sigma_b, sw, evaluate=False), "; leading order in ",
                                  1 / sqrt_as_written(dd), " (the finite-d corrections bounded); the ReLU's derivative "
                                  "at 0 is 0."),
                 regime="initialisation (dead) and the first GD step (revival); k = 2 for the trajectory check so that "
                        "every opposite point is switched off by the first step",
                 steps=steps, predictions=preds, kind="lemma")


# ---- evidence: dead at initialisation ------------------------------------------------------------

def _measure_init(ctx):
    draws = 12000 if ctx.quick else 30000
    rng = ctx.rng(804)
    dead_p = ctx.prediction(ID, "dead")
    rival = ctx.prediction(ID, "dead_rival")
    hp = ctx.prediction(ID, "dead_derivative")
    succ, pred, riv, bnd, labels = [], [], [], [], []
    for nj_ in SIZES:
        (Z,), _ = one_neuron_preactivations(rng, draws, (nj_,), D_INIT)
        succ.append(int(np.sum(~np.any(Z > 0, axis=1))))
        pred.append(float(dead_p(nj_)))
        riv.append(float(rival(nj_)))
        bnd.append(finite_d_bound(lambda T_, nj_=nj_: hp(T_, nj_), D_INIT)[0])
        labels.append(f"n_j = {nj_}")
    Zs, _ = one_neuron_preactivations(rng, draws, PAIR, D_INIT)
    succ.append(int(np.sum(~np.any(Zs[0] > 0, axis=1) & ~np.any(Zs[1] > 0, axis=1))))
    pred.append(float(np.prod([dead_p(x) for x in PAIR])))
    riv.append(float(np.prod([rival(x) for x in PAIR])))
    r = 1.0 / (D_INIT + 1)
    bnd.append(sum(finite_d_bound(lambda T_, x=x: hp(T_, x), D_INIT)[0] for x in PAIR) + math.sqrt(-math.log1p(-r * r) / 4))
    labels.append(f"J_s sizes {PAIR}")
    pred = np.array(pred)
    term = Term(f"finite-d correction: sup|h'| sqrt(E[(1/rho - 1)^2]) per own cluster (Cauchy-Schwarz, d = {D_INIT:.0e}), "
                "plus Pinsker's bound on the shared bias for two clusters", np.array(bnd))
    return exact_outcome(succ, draws, pred, {"1/n_j": np.array(riv), "C/2": 0.5 * pred}, labels=labels,
                         seeds=[ctx.seed], bounds=(term,),
                         config={"d": D_INIT, "sampler": "exact one-neuron reduced coordinates", "draws": draws})


INIT = Check(ID, "Dead at init: P = 1/(n_j + 1) at n_j = 5, 17, 100 and 1/((5+1)(17+1)) for two own clusters",
             f"exact one-neuron reduced coordinates (featavg.lemmas.one_neuron_preactivations), d = {D_INIT:.0e}, "
             "sigma_b = sigma_w; 12000 draws per component (full 30000), two-sided, Bonferroni over 4 components",
             _measure_init, rivals=(Rival("1/n_j", "an off-by-one: P(dead) = 1/n_j"),
                                    Rival("C/2", "the predicted probabilities a factor of 2 smaller")),
             faults=("lemma_constant",))


# ---- evidence: does a dead neuron stay dead? (GD trajectories) -------------------------------------

def _measure_trajectories(ctx):
    from featavg.simulate import Config

    c = TRAJ
    eta_ = c["eps"] * 2 * c["n"] * c["m"] * c["init_scale"]
    runs = 1200 if ctx.quick else 2500
    revival = ctx.prediction(ID, "revival")
    scale = c["init_scale"] * math.sqrt(c["d"])
    revived, draws, seeds, fmax = [], [], [], 0.0
    for i in range(runs):
        seed = ctx.child_seed(805, i)
        cfg = Config(k=c["k"], positive=c["positive"], m=c["m"], n=c["n"], d=c["d"], n_test=1, eta=eta_,
                     init_scale=c["init_scale"], steps=c["steps"], seed=seed, engine="reduced")
        run = ctx.simulate(cfg)
        X, cl, lab = run.train.X, run.train.clusters, run.cluster_labels
        signs = np.array([1] * c["m"] + [-1] * c["m"])
        if not dead_at_init(run.W_init, run.b_init, X, cl, lab, signs)[0]:
            continue
        z0 = X @ run.W_init[0] + run.b_init[0]
        own = lab[cl] == 1
        fmax = max(fmax, float(np.max(np.abs(np.maximum(X @ run.W_init.T + run.b_init, 0) @ (signs / c["m"])))))
        draws.append((z0[own] / scale, int(np.sum(z0[~own] > 0))))
        revived.append(bool(not dead_at_init(run.network.W, run.network.b, X, cl, lab, signs)[0]))
        seeds.append(seed)
    if not draws:
        raise RuntimeError("no dead neuron in the runs")

    def mean_revival(e):
        return float(np.mean([revival(vv, aa, e, c["d"]) for vv, aa in draws]))
    pred = mean_revival(c["eps"])
    # relative error of the kick scale eps: -l'(f) = 1/(1 + e^{yf}) is within tanh(max|f|/2) of 1/2 at step 0
    # (relative 2 tanh(max|f|/2)), and the O(1/sqrt d) terms (||a mu' + u||^2/d, <u, mu_j>/sqrt(a d), the
    # kick-margin correlation: each ~sqrt(2/d) relative, three standard deviations) add 4/sqrt d
    rel = 2 * math.tanh(fmax / 2) + 4 / math.sqrt(c["d"])
    shift = max(abs(mean_revival(c["eps"] * (1 + rel)) - pred), abs(mean_revival(c["eps"] * (1 - rel)) - pred))
    n_dead = len(draws)
    succ = int(np.sum(revived))
    term = Term(f"kick scale eps known to a relative {rel:.2g} (|2g - 1| <= tanh(max|f|/2), max|f| = {fmax:.2g} at "
                "init, plus 4/sqrt d): the prediction's change at eps (1 +- that)", shift)
    return exact_outcome(succ, n_dead, pred, {"stays dead (revival 0)": 0.0, "C/2": 0.5 * pred},
                         labels=["revival fraction of dead-at-init neurons"], seeds=seeds[:20], bounds=(term,),
                         details={"runs": runs, "dead at init": n_dead,
                                  "predicted revival per draw: Poisson-binomial mean (binomial band conservative)": pred,
                                  "eta": eta_, "eps": c["eps"]},
                         config={**c, "eta": eta_, "runs": runs, "engine": "reduced"})


TRAJECTORIES = Check(
    f"{ID}.trajectories",
    "Stays dead? revival fraction of dead-at-init neurons after GD vs 1 - E_H prod_p Phi(...) (first-step kick)",
    f"GD runs of the simulator, reduced engine, k = {TRAJ['k']}, |J+| = 1, n = {TRAJ['n']}, m = {TRAJ['m']}, "
    f"d = {TRAJ['d']:.0e}, sigma_w = {TRAJ['init_scale']:g}, eps = eta/(2nm sigma_w) = {TRAJ['eps']:g}, "
    f"{TRAJ['steps']} steps; 1200 runs (full 2500), the first positive neuron of each; the prediction uses each run's "
    "measured initial margins and active count", _measure_trajectories,
    rivals=(Rival("stays dead (revival 0)", "the statement 'a neuron dead at initialisation stays dead'"),
            Rival("C/2", "the revival probability a factor of 2 smaller")),
    faults=("lemma_constant", "untrained"))

LEMMA_FAULT = LEMMA_CONSTANT
