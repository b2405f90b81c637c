r"""L1.noise_concentration: the noise norms and inner products concentrate, with union bounds.

The first lemma of every proof in this setting: for ``n`` training noises ``xi_i ~ N(0, I_d)`` and
``k`` orthogonal features with ``||mu_j|| = sqrt d``, with probability at least ``1 - delta``

* ``| ||xi_i||^2 - d | <= t_1`` for all ``i`` (``n`` events), ``delta_1 = C n q_1(t_1)``,
  ``q_1(t) = P(chi^2_d < d - t) + P(chi^2_d > d + t) = P(d/2, (d - t)/2) + Q(d/2, (d + t)/2)``
  (regularised incomplete gamma functions: the exact chi-square tail);
* ``|<xi_i, xi_l>| <= t_2`` for all pairs ``i < l`` (``n(n-1)/2`` events), ``delta_2 = C n(n-1)/2
  q_2(t_2)``, ``q_2(t) = E[2 Phi(-t/R)]``, ``R ~ chi_d`` (given ``xi_i``, ``<xi_i, xi_l> ~ N(0,
  ||xi_i||^2)``: the exact tail of one pair, a one-dimensional integral);
* ``|<xi_i, mu_j>| <= t_3`` for all ``i, j`` (``n k`` events), ``delta_3 = C n k q_3(t_3)``,
  ``q_3(t) = 2 Phi(-t/sqrt d)`` (exact: ``<xi_i, mu_j> ~ N(0, d)``).

with ``C = 1`` (the union bound). Why the bounds are near-tight, so that the rival ``C = 1/2`` can
be rejected: each threshold ``t`` is set where the union bound equals ``delta = 0.2`` (``t`` solves
``delta(t) = 0.2``), so every single event is rare (probability ``0.2/N`` for ``N`` events) and the
events are nearly disjoint. For independent events (the norms, the feature products) the failure
probability is exactly ``1 - (1 - q)^N``, between ``N q (1 - (N - 1) q / 2)`` (Bonferroni) and
``N q``: ``0.181`` against the bound ``0.2`` (ratio 0.906), far above ``C/2``'s ``0.1``; the pair
events are pairwise independent-ish (they share one index, ``O(q^2)`` overlaps), the same holds.
The textbook Chernoff-type bounds (Laurent-Massart for the norms, the product-normal Chernoff for
the pairs, ``2 e^{-t^2/(2d)}`` for the features) are given beside each row with the ratio of the
measured failure probability to them: how loose the usual constants are.

Evidence: the reduced engine's training noise (docs/science.md §4: the Bartlett factor gives the
exact joint law of all inner products at a cost independent of ``d``), ``k = 10``, ``d = 3072``,
``n = 60``, many independent draws; the events are counted on each draw.
"""

import math

import numpy as np
import sympy as sp

from featavg.claims._lemma_sympy import GammaP, GammaQ, chi2_pdf, lemma_lambdify
from featavg.evidence import Check, Rival
from featavg.lemmas import LEMMA_CONSTANT, bound_outcome
from featavg.theory import Claim, Inner, Norm, Step, Text, explicit, is_zero, notation
from featavg.theory._common import Phi, sqrt_as_written

# real (not integer) sizes: the chi-square densities below stay in the log-gamma form SymPy
# writes for real degrees of freedom, which lambdify evaluates without overflow at d = 3072
d, k, n = sp.symbols("d k n", positive=True)

ID = "L1.noise_concentration"
ORDER = (8, 0)

t, C = sp.symbols("t C", positive=True)
x, r, u = sp.symbols("x r u", positive=True)
g = sp.Symbol("g", real=True)

#: the regime of the checks and the bound the thresholds are set at
K_, D_, N_ = 10, 3072, 60
DELTA = 0.2


def _tails():
    q1 = GammaP(d / 2, (d - t) / 2) + GammaQ(d / 2, (d + t) / 2)
    # q2 = E[2 Phi(-t/sqrt(R2))], R2 ~ chi^2_d, as the integrand over R2 = r (log-density for large d)
    log_pdf = (d / 2 - 1) * sp.log(r) - r / 2 - d / 2 * sp.log(2) - sp.loggamma(d / 2)
    # tails written with erfc (2 Phi(-x) = erfc(x/sqrt 2), a step below), which stays accurate far out
    q2_integrand = sp.erfc(t / sp.sqrt(2 * r)) * sp.exp(log_pdf)
    q3 = sp.erfc(t / sp.sqrt(2 * d))
    return q1, q2_integrand, q3


def _integrate_q2(integrand):
    """``q_2(t, d) = int_0^oo integrand(r; t, d) dr`` by adaptive quadrature over the chi-square mass."""
    from scipy import integrate

    def q2(t_, d_):
        sd = math.sqrt(2 * d_)
        lo, hi = max(1e-12, d_ - 40 * sd), d_ + 40 * sd
        val, _ = integrate.quad(lambda rr: float(integrand(t_, d_, rr)), lo, hi, points=[d_], limit=200,
                                epsabs=0, epsrel=1e-10)
        return val
    return q2


def derive():
    r"""The three union bounds over exact tails, and the facts they rest on."""
    q1, q2_integrand, q3 = _tails()
    n_pairs = n * (n - 1) / 2
    delta1, delta3 = C * n * q1, C * n * k * q3
    P = notation("P")
    xi_i, xi_l, mu_j = sp.Symbol("xi_i"), sp.Symbol("xi_l"), sp.Symbol("mu_j")
    statement = sp.And(
        sp.Le(P(sp.Gt(sp.Abs(Norm(xi_i) ** 2 - d), t)), n * q1, evaluate=False),
        sp.Le(P(sp.Gt(sp.Abs(Inner(xi_i, xi_l)), t)), n_pairs * sp.Integral(q2_integrand, (r, 0, sp.oo)), evaluate=False),
        sp.Le(P(sp.Gt(sp.Abs(Inner(xi_i, mu_j)), t)), n * k * q3, evaluate=False), evaluate=False)
    f = chi2_pdf(x, d)
    s = sp.Symbol("s", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    E = notation("E")
    h = sp.Symbol("h", real=True)
    q, N = sp.Symbol("q", real=True), sp.Symbol("N", positive=True, integer=True)
    exponent = -lam * t - d / 2 * sp.log(1 - lam ** 2)

    def upper_gamma_tail(st):
        # Q(d/2, x/2) = Gamma(d/2, x/2)/Gamma(d/2): its x-derivative, and its limit at oo (symbolic d)
        derived = sp.diff(GammaQ(d / 2, x / 2).rewrite(sp.uppergamma), x)
        return is_zero(derived - st.rhs) and sp.limit(sp.uppergamma(d / 2, x / 2), x, sp.oo) == 0

    def norm_mgf(st):
        # the chi-square density's Laplace transform, and the d-th power of one squared normal's
        chi = sp.integrate(sp.exp(-s * x) * f * sp.exp(x / 2), (x, 0, sp.oo), conds="none")
        one = sp.integrate(sp.exp(-s * g ** 2) / sp.sqrt(2 * sp.pi), (g, -sp.oo, sp.oo), conds="none")
        return is_zero(chi - st.rhs) and is_zero(one ** d - st.rhs)

    def pair_mgf(st):
        # given the norm R of xi_i, <xi_i, xi_l> = R Z: E[e^{lambda R Z}] = E[e^{lambda^2 R^2/2}], the chi-square
        # transform at u = 1 - lambda^2; coordinatewise E_g[e^{lambda g h}] = e^{lambda^2 h^2/2}, then E_h of it
        chi = sp.integrate(sp.exp(-u * x / 2) * f * sp.exp(x / 2), (x, 0, sp.oo), conds="none")
        given_h = sp.integrate(sp.exp(lam * g * h) * sp.exp(-g ** 2 / 2) / sp.sqrt(2 * sp.pi), (g, -sp.oo, sp.oo),
                               conds="none")
        inner = is_zero(given_h - sp.exp(lam ** 2 * h ** 2 / 2))
        one = sp.integrate(sp.exp(-u * h ** 2 / 2) / sp.sqrt(2 * sp.pi), (h, -sp.oo, sp.oo), conds="none")
        return inner and is_zero(chi - st.rhs) and is_zero(one ** d - st.rhs)

    def feature_tail(st):
        # <xi_i, mu_j> ~ N(0, ||mu_j||^2 = d): each side, as a function of t, must have derivative minus twice
        # the N(0, d) density at t and vanish as t -> oo (the two-sided tail, by the fundamental theorem)
        density = sp.exp(-t ** 2 / (2 * d)) / sp.sqrt(2 * sp.pi * d)
        rhs = explicit(st.rhs)
        tail = is_zero(sp.diff(rhs, t) + 2 * density) and sp.limit(rhs, t, sp.oo) == 0
        return tail and is_zero(sp.diff(explicit(st.lhs), t) + 2 * density)

    def chernoff(st):
        # stationary points of the Chernoff exponent; the one in (0, 1) is 2t/(d + sqrt(d^2 + 4t^2)) (positive,
        # and below 1 since sqrt(d^2 + 4t^2) > 2t); it solves t lambda^2 + d lambda - t = 0
        free = sp.Symbol("lambda")
        roots = sp.solve(sp.diff(exponent.subs(lam, free), free), free)
        positive = 2 * t / (d + sp.sqrt(d ** 2 + 4 * t ** 2))
        quadratic = is_zero(t * positive ** 2 + d * positive - t)
        return quadratic and any(is_zero(rt - positive) for rt in roots) and is_zero(positive - st.rhs)

    steps = (
        Step(Text("the chi-square tail is the regularised upper gamma function ", GammaQ(d / 2, x / 2),
                  ": its derivative is minus the chi-square density, and ", sp.Eq(GammaQ(d / 2, sp.oo), 0, evaluate=False)),
             sp.Eq(sp.Derivative(GammaQ(d / 2, x / 2), x), -f, evaluate=False), upper_gamma_tail),
        Step(Text(Norm(xi_i) ** 2, " is chi-square with d degrees of freedom: the moment generating function of d "
                  "squared normals, ", (1 - 2 * lam) ** (-d / 2), ", is the chi-square one (",
                  sp.Eq(s, sp.Rational(1, 2) - lam, evaluate=False), ")"),
             sp.Eq(sp.Integral(sp.exp(-s * x) * f * sp.exp(x / 2), (x, 0, sp.oo)), (2 * s) ** (-d / 2), evaluate=False),
             norm_mgf),
        Step(Text(sp.Eq(Inner(xi_i, xi_l), Norm(xi_i) * sp.Symbol("Z"), evaluate=False), " given ", xi_i,
                  ": its moment generating function ", (1 - lam ** 2) ** (-d / 2), " is the d-th power of ",
                  E(sp.exp(lam * g * h)), " (", sp.Eq(u, 1 - lam ** 2, evaluate=False), ")"),
             sp.Eq(sp.Integral(sp.exp(-u * x / 2) * sp.exp(x / 2) * f, (x, 0, sp.oo)), u ** (-d / 2), evaluate=False),
             pair_mgf),
        Step(Text(Inner(xi_i, mu_j), " is normal with variance d: its two-sided tail is ",
                  sp.Eq(2 * Phi(-t / sqrt_as_written(d)), q3, evaluate=False)),
             sp.Eq(2 * Phi(-t / sp.sqrt(d)), q3, evaluate=False), feature_tail),
        Step(Text("union bound and its tightness for ", N, " independent events of probability ", q, " in ",
                  sp.Interval(0, 1), ": ", N * q * (1 - (N - 1) * q / 2), " (Bonferroni) and ", N * q,
                  " bound the probability of their union, for every ", N),
             sp.And(sp.Le(1 - (1 - q) ** N, N * q, evaluate=False),
                    sp.Ge(1 - (1 - q) ** N, N * q * (1 - (N - 1) * q / 2), evaluate=False), evaluate=False),
             _union_tightness),
        Step(Text("Chernoff bound of a pair (the textbook constant, reported beside the row): the optimal ", lam,
                  " of ", sp.exp(-lam * t) * (1 - lam ** 2) ** (-d / 2), " solves ",
                  sp.Eq(t * lam ** 2 + d * lam - t, 0, evaluate=False)),
             sp.Eq(sp.Symbol("lambda^*"), (-d + sp.sqrt(d ** 2 + 4 * t ** 2)) / (2 * t), evaluate=False), chernoff),
    )
    integrand = lemma_lambdify([t, d, r], q2_integrand, "integrand of q_2(t, d) over r = ||xi||^2")
    q2 = _integrate_q2(integrand)
    q1_fn = lemma_lambdify([t, d], q1, "q_1(t, d) = P(|chi^2_d - d| > t), exact")
    q3_fn = lemma_lambdify([t, d], q3, "q_3(t, d) = P(|N(0, d)| > t) = 2 Phi(-t/sqrt d)")

    def delta2(t_, d_, n_, C_=1.0):
        return C_ * n_ * (n_ - 1) / 2 * q2(t_, d_)
    delta2.__doc__ = ("delta_2(t, d, n, C) = C n(n-1)/2 q_2(t, d), q_2 = int 2 Phi(-t/sqrt r) f_{chi^2_d}(r) dr "
                      "(quadrature of the lambdified integrand)")
    preds = {
        "delta_norms": lemma_lambdify([t, d, n, C], delta1, "delta_1(t, d, n, C) = C n q_1(t, d): union over the n norms"),
        "delta_pairs": delta2,
        "delta_features": lemma_lambdify([t, d, n, k, C], delta3, "delta_3 = C n k 2 Phi(-t/sqrt d): union over nk pairs"),
        "q_norms": q1_fn, "q_pairs": q2, "q_features": q3_fn,
    }
    return Claim(id=ID, title=Text("Noise norms and inner products concentrate (union bounds over ", n, ", ", n_pairs,
                                   ", ", n * k, " events)"),
                 statement=statement,
                 assumptions=Text(xi_i, " distributed as ", notation("N")(0, sp.Symbol("I_d")), " i.i.d.; ",
                                  sp.Eq(Norm(mu_j), sqrt_as_written(d), evaluate=False), ", the ", mu_j,
                                  " orthogonal (Assumption 3.2); ", sp.Eq(C, 1, evaluate=False),
                                  ": the union bound over exact tails."),
                 regime="any n, d, k; checked at k = 10, d = 3072, n = 60 with each threshold set where its bound "
                        f"is {DELTA} (rare, nearly disjoint events: near-tight)",
                 steps=steps, predictions=preds, kind="lemma")


def _union_tightness(st):
    r"""Both inequalities of the statement, for every ``N >= 1`` and ``q`` in [0, 1], from their slacks.

    ``B_M(q) = (1-q)^M - 1 + M q`` (Bernoulli's inequality, the slack of the union bound at ``M = N``)
    vanishes at 0 and has derivative ``M (1 - (1-q)^(M-1))``, which is >= 0 since ``s^(M-1)``, ``s = 1 - q``
    in [0, 1], increases in ``s`` to 1 at ``s = 1``; so ``B_M >= 0`` for ``M >= 1``. The Bonferroni slack
    ``1 - (1-q)^N - N q (1 - (N-1) q/2)`` is 0 at ``N = 1`` and, for ``N >= 2``, vanishes at 0 with
    derivative ``N B_(N-1)(q) >= 0``. Each relational of ``st`` must have one of these two slacks
    (its larger side minus its smaller side), and both must occur.
    """
    q = sp.Symbol("q", real=True)
    N = sp.Symbol("N", positive=True, integer=True)
    M0 = sp.Symbol("M_0", nonnegative=True, integer=True)
    s = sp.Symbol("s", positive=True)

    def bernoulli(M):
        return (1 - q) ** M - 1 + M * q

    def bonferroni(N_):
        return 1 - (1 - q) ** N_ - N_ * q * (1 - (N_ - 1) * q / 2)

    M, N2 = M0 + 1, M0 + 2
    power_below_one = sp.diff(s ** M0, s).is_nonnegative is True and (s ** M0).subs(s, 1) == 1
    bernoulli_ok = (power_below_one and is_zero(bernoulli(M).subs(q, 0))
                    and is_zero(sp.diff(bernoulli(M), q) - M * (1 - (1 - q) ** M0)))
    bonferroni_ok = (bernoulli_ok and is_zero(bonferroni(1)) and is_zero(bonferroni(N2).subs(q, 0))
                     and is_zero(sp.diff(bonferroni(N2), q) - N2 * bernoulli(N2 - 1)))
    if not bonferroni_ok:
        return False
    proven = {"union": bernoulli(N), "Bonferroni": bonferroni(N)}
    found = set()
    for rel in (st.args if isinstance(st, sp.And) else (st,)):
        if isinstance(rel, (sp.LessThan, sp.StrictLessThan)):
            slack = rel.rhs - rel.lhs
        elif isinstance(rel, (sp.GreaterThan, sp.StrictGreaterThan)):
            slack = rel.lhs - rel.rhs
        else:
            return False
        match = [name for name, value in proven.items() if is_zero(slack - value)]
        if not match:
            return False
        found.update(match)
    return found == set(proven)


# ---- evidence -----------------------------------------------------------------------------------

def _draws(ctx):
    """Events of the three families on many independent draws of the reduced engine's training noise."""
    key = ("L1", ctx.quick)
    if key in ctx.cache:
        return ctx.cache[key]
    from featavg.simulate import ReducedSampler, make_partition

    draws = 2000 if ctx.quick else 5000
    rng = ctx.rng(801)
    rngs = {"features": rng, "train": rng, "test": rng, "init": rng}
    labels = make_partition(K_)
    norms = np.empty((draws, N_))
    pairs = np.empty((draws, N_ * (N_ - 1) // 2))
    feats = np.empty((draws, N_ * K_))
    iu = np.triu_indices(N_, 1)
    for b in range(draws):
        s = ReducedSampler(K_, D_, N_, 1, 1.0, 1.0, rngs)
        F = s.features()
        tr = s.train(labels)
        xi = tr.X - F[tr.clusters]
        G = xi @ xi.T
        norms[b] = np.diag(G) - D_
        pairs[b] = G[iu]
        feats[b] = (xi @ F.T).ravel()
    out = {"norms": np.abs(norms).max(axis=1), "pairs": np.abs(pairs).max(axis=1),
           "features": np.abs(feats).max(axis=1), "draws": draws}
    ctx.cache[key] = out
    return out


def _threshold(delta_fn, target=DELTA):
    """The threshold ``t`` where the lemma's bound equals ``target`` (bisection on log delta)."""
    from scipy.optimize import brentq

    hi = min(0.99 * D_, 15.0 * math.sqrt(D_))  # below d (the lower chi-square tail), far out in every tail
    return brentq(lambda tt: math.log(delta_fn(tt)) - math.log(target), 1.0, hi, xtol=1e-9)


def _outcome(ctx, family, delta_fn, events, looser_fn):
    ev = _draws(ctx)
    t_ = _threshold(delta_fn)
    delta = float(delta_fn(t_))
    fails = int(np.sum(ev[family] > t_))
    return bound_outcome(fails, ev["draws"], delta, seeds=[ctx.seed],
                         looser={looser_fn[0]: looser_fn[1](t_)},
                         details={"threshold t": t_, "events per draw": events},
                         config={"k": K_, "d": D_, "n": N_, "engine": "reduced", "threshold_at_delta": DELTA})


def _measure_norms(ctx):
    delta = ctx.prediction(ID, "delta_norms")

    def laurent_massart(t_):
        # P(chi^2 - d >= 2 sqrt(d x) + 2x) <= e^{-x}, P(d - chi^2 >= 2 sqrt(d x)) <= e^{-x}
        xu = ((math.sqrt(D_ + 2 * t_) - math.sqrt(D_)) / 2) ** 2
        xl = t_ ** 2 / (4 * D_)
        return N_ * (math.exp(-xu) + math.exp(-xl))
    return _outcome(ctx, "norms", lambda tt: float(delta(tt, D_, N_, 1.0)), N_,
                    ("Laurent-Massart n (e^{-x_u} + e^{-x_l})", laurent_massart))


def _measure_pairs(ctx):
    delta = ctx.prediction(ID, "delta_pairs")

    def chernoff(t_):
        lam_ = (-D_ + math.sqrt(D_ ** 2 + 4 * t_ ** 2)) / (2 * t_)
        return N_ * (N_ - 1) / 2 * 2 * math.exp(-lam_ * t_ - D_ / 2 * math.log(1 - lam_ ** 2))
    return _outcome(ctx, "pairs", lambda tt: float(delta(tt, D_, N_, 1.0)), N_ * (N_ - 1) // 2,
                    ("Chernoff n(n-1)/2 2 e^{-lambda t}(1-lambda^2)^{-d/2}", chernoff))


def _measure_features(ctx):
    delta = ctx.prediction(ID, "delta_features")
    return _outcome(ctx, "features", lambda tt: float(delta(tt, D_, N_, K_, 1.0)), N_ * K_,
                    ("Chernoff n k 2 e^{-t^2/(2d)}", lambda t_: N_ * K_ * 2 * math.exp(-t_ ** 2 / (2 * D_))))


_RIVAL = (Rival("C/2", "the union bound with its constant a factor of 2 smaller (delta/2)"),)
_REGIME = (f"reduced engine, k={K_}, d={D_}, n={N_}; threshold t where the bound is {DELTA}; 2000 draws "
           "(full 5000); failure = the event fails for some member of the family")

NORMS = Check(f"{ID}.norms", "P(max_i | ||xi_i||^2 - d | > t) <= n q_1(t) (exact chi-square tail, union over n)",
              _REGIME, _measure_norms, rivals=_RIVAL, faults=("lemma_constant",))
PAIRS = Check(f"{ID}.pairs", "P(max_{i<l} |<xi_i, xi_l>| > t) <= n(n-1)/2 q_2(t) (exact pair tail, union over pairs)",
              _REGIME, _measure_pairs, rivals=_RIVAL, faults=("lemma_constant",))
FEATURES = Check(f"{ID}.features", "P(max_{i,j} |<xi_i, mu_j>| > t) <= n k 2 Phi(-t/sqrt d) (union over nk pairs)",
                 _REGIME, _measure_features, rivals=_RIVAL, faults=("lemma_constant",))

LEMMA_FAULT = LEMMA_CONSTANT
