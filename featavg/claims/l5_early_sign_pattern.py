r"""L5.early_sign_pattern: what C7.early_gradient needs, for all neurons at once.

C7.early_gradient states that at a small initialisation the gradient's feature coefficient
``c_{r,j} = -<grad_{w_r} L, mu_j>`` has the sign ``y_j s_r`` (own-class clusters push, the others
pull). From the gradient (``-l'(0) = 1/2``, ``<x_i, mu_j> = d 1{c_i = j} + <xi_i, mu_j>``)

.. math:: c_{r,j} = \frac{s_r}{2nm}\Big(y_j\, d\, K_{r,j} + \sum_{i\ \mathrm{active}} y_i \langle \xi_i, \mu_j\rangle\Big),

``K_{r,j}`` the number of points of cluster ``j`` the neuron fires on. The noise sum has standard
deviation ``sqrt(d K_r)/2``-ish against a signal ``d K_{r,j}/2``: for ``K_{r,j} >= 1`` the sign is
wrong with probability at most ``Phi(-sqrt(d/n))``, which vanishes for ``d >> n``. For
``K_{r,j} = 0`` (probability ``1/(n_j + 1)``, L4.dead_neurons) the coefficient is pure noise, of
either sign with probability 1/2. So the sign pattern fails for some of the ``M k`` pairs with
probability at most

.. math:: \delta = C\, M k\, \tfrac12\, E\Big[\frac{1}{n_j + 1}\Big]
          = C\, M k\, \tfrac12\, \frac{k\,(1 - (1 - 1/k)^{n+1})}{n + 1},\qquad C = 1,

(``n_j ~ Bin(n, 1/k)``; ``E[1/(n_j+1)] = int_0^1 E[u^{n_j}] du``). Near-tight: the pair events are
rare (``delta/(Mk)`` each) and nearly independent (independent ``A_j`` over clusters, orthogonal
noise directions), and the regime makes ``delta ~ 0.2``; the rival ``C = 1/2`` is then far below the
measured failure probability. At the paper's setting (``n = 1000``, ``k = 10``, ``M = 10``)
``delta = 0.495``: the sign pattern for all neurons at once is *not* a high-probability event
there; it needs ``n_j >> M k``.

Neglected: the ``K >= 1`` terms (``<= M k Phi(-sqrt(d/n))``), the chance that a neuron fires on no
point at all (coefficient exactly 0: ``M/2 E[prod_j 1/(n_j+1)]`` extra, the ``k``-fold integral
``int ((u_1 + ... + u_k)/k)^n du``), and the ``O(sqrt(n/(k d)))`` Stein bias of the noise sum's sign
(the activity of point ``i`` correlates with ``<xi_i, mu_j>`` through the neuron's own
coordinate ``A_j``): bound terms of the band.

Evidence: the simulator's gradient (``BinaryNetwork.loss_and_grad``) at the reduced engine's
initialisation, ``k = 4``, ``n = 80``, ``m = 1``, ``d = 10^8`` (``d >> n``), many independent draws.
"""

import math
from fractions import Fraction

import numpy as np
import sympy as sp

from featavg.claims._lemma_sympy import binomial_theorem, lemma_lambdify
from featavg.evidence import Check, Rival, Term
from featavg.lemmas import LEMMA_CONSTANT, bound_outcome
from featavg.theory import Claim, Step, Text, explicit, is_zero, notation, sums_equal
from featavg.theory._common import Phi, d, k, n, sqrt_as_written

ID = "L5.early_sign_pattern"
ORDER = (8, 4)

C, uu = sp.symbols("C u", positive=True)
Kc, Kt = sp.symbols("K K_r", positive=True)
M = sp.Symbol("M", positive=True)
K_, N_, MM_, D_ = 4, 80, 1, 10 ** 8


def expected_inverse_count(n_, k_):
    r""":math:`E[1/(n_j + 1)] = k (1 - (1 - 1/k)^{n+1})/(n + 1)` for ``n_j ~ Bin(n, 1/k)`` (the claimed closed form)."""
    return k_ * (1 - (1 - 1 / k_) ** (n_ + 1)) / (n_ + 1)


def derive():
    r"""The sign of the early coefficient: wrong only on pairs with no active point; the union bound."""
    e_inv = expected_inverse_count(n, k)
    delta = C * M * k * e_inv / 2
    P, E, Bin = notation("P"), notation("E"), notation("Bin")
    statement = sp.Le(P(sp.Symbol("some sign y_j s_r violated")), delta, evaluate=False)
    x = sp.Symbol("x", integer=True, nonnegative=True)
    nj, K_rj = sp.Symbol("n_j", integer=True, nonnegative=True), sp.Symbol("K_r,j", integer=True, nonnegative=True)
    integrand = (1 - (1 - uu) / k) ** n
    antiderivative = k / (n + 1) * (1 - (1 - uu) / k) ** (n + 1)

    def mean_inverse_count(st):
        # E[1/(n_j + 1)] = E[int_0^1 u^n_j du] (int_0^1 u^m du = 1/(m + 1)), the integrand the generating
        # function (next step); the antiderivative differentiates back to it, evaluated at 1 and 0
        inverse = is_zero(sp.integrate(uu ** nj, (uu, 0, 1), conds="none") - 1 / (nj + 1))
        anti = is_zero(sp.diff(antiderivative, uu) - integrand)
        value = antiderivative.subs(uu, 1) - antiderivative.subs(uu, 0)
        return inverse and anti and st.lhs == sp.Integral(integrand, (uu, 0, 1)) and is_zero(value - st.rhs)

    pgf_series = sp.Sum(sp.binomial(n, x) * (1 / k) ** x * (1 - 1 / k) ** (n - x) * uu ** x, (x, 0, n))

    def generating_function(st):
        # the binomial theorem for symbolic n (a, b > 0), at a = u/k, b = 1 - 1/k (k >= 2)
        theorem = binomial_theorem(n)
        if theorem is None:
            return False
        a_, b_ = uu / k, 1 - 1 / k
        series = sp.Sum(sp.binomial(n, x) * a_ ** x * b_ ** (n - x), (x, 0, n))
        return sums_equal(st.lhs, series) and is_zero(theorem(a_, b_) - st.rhs)

    def outvoted(st):
        # wrong sign: the noise (sd sqrt(d K_r)/2) beats the signal d K/2; Gaussian tail at signal/sd
        ratio = (d * Kc / 2) / (sp.sqrt(d * Kt) / 2)
        return is_zero(sp.limit(explicit(Phi(-ratio)), d, sp.oo) - st.rhs)

    def union(st):
        # no active point of cluster j: P(K = 0 | n_j) = C(n_j, 0) B(1, n_j + 1) = 1/(n_j + 1) (the beta-binomial
        # of L3.activation_fractions at x = 0), averaged over n_j: e_inv; the sign is then a fair coin; union over
        # the M k pairs (r, j)
        none_active = is_zero(sp.gammasimp(sp.beta(1, nj + 1).rewrite(sp.gamma)) - 1 / (nj + 1))
        r_, j_ = sp.symbols("r j", integer=True, positive=True)
        total = sp.Sum(sp.Sum(sp.Rational(1, 2) * e_inv, (j_, 1, k)), (r_, 1, M)).doit()
        return none_active and is_zero(total - st.lhs) and is_zero(total - st.rhs)

    steps = (
        Step(Text("the mean inverse count ", sp.Eq(E(1 / (nj + 1)), sp.Integral(E(uu ** nj), (uu, 0, 1)), evaluate=False),
                  " is the integral of the generating function below; its antiderivative ", antiderivative,
                  " evaluated at 1 and 0"),
             sp.Eq(sp.Integral(integrand, (uu, 0, 1)), e_inv, evaluate=False), mean_inverse_count),
        Step(Text("the probability generating function of ", Bin(n, 1 / k), " is ", integrand,
                  " for every n (the binomial theorem, proved for symbolic n)"),
             sp.Eq(pgf_series, integrand, evaluate=False), generating_function),
        Step(Text("signal ", d * Kc / 2, " against noise of standard deviation ", sqrt_as_written(d * Kt) / 2, ": for ",
                  sp.Ge(Kc, 1, evaluate=False), " the wrong-sign probability ", Phi(-Kc * sqrt_as_written(d / Kt)),
                  " vanishes as d grows"),
             sp.Eq(sp.Limit(Phi(-Kc * sp.sqrt(d / Kt)), d, sp.oo), 0, evaluate=False), outvoted),
        Step(Text("union bound over the ", M * k, " pairs, each wrong with probability ",
                  sp.Eq(P(sp.Eq(K_rj, 0, evaluate=False)) / 2, E(1 / (nj + 1)) / 2, evaluate=False)),
             sp.Eq(delta.subs(C, 1), M * k * sp.Rational(1, 2) * e_inv, evaluate=False), union),
    )
    preds = {"delta": lemma_lambdify([n, k, M, C], delta,
                                     "delta(n, k, M, C) = C M k (1/2) k (1 - (1-1/k)^(n+1))/(n+1)")}
    y_j, s_r = sp.Symbol("y_j"), sp.Symbol("s_r")
    f = sp.Symbol("f")
    return Claim(id=ID, title=Text("The early gradient's sign pattern ", y_j * s_r, " holds for all ", M * k,
                                   " pairs at once, up to ", M * k * E(1 / (nj + 1)) / 2),
                 statement=statement,
                 assumptions=Text("small initialisation (", sp.Eq(-sp.Derivative(notation("l")(f), f), sp.Rational(1, 2),
                                                                 evaluate=False),
                                  "), d much larger than n (the noise never outvotes one active point); ",
                                  sp.Eq(C, 1, evaluate=False), ": the union bound."),
                 regime=f"initialisation; checked at k = {K_}, n = {N_}, m = {MM_} (M = {2 * MM_}), d = {D_:.0e}",
                 steps=steps, predictions=preds, kind="lemma")


def _all_inactive(n_, k_):
    """``E[prod_j 1/(n_j + 1)]`` over the multinomial counts: the k-fold integral of ((u_1+..+u_k)/k)^n,
    ``sum_j (-1)^j C(k, j) (k - j)^(n + k) / (k^n (n+1)...(n+k))`` (finite differences), exactly."""
    num = sum((-1) ** j * math.comb(k_, j) * (k_ - j) ** (n_ + k_) for j in range(k_ + 1))
    den = k_ ** n_ * math.prod(range(n_ + 1, n_ + k_ + 1))
    return float(Fraction(num, den))


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.simulate import BinaryNetwork, ReducedSampler, make_partition

    draws = 2000 if ctx.quick else 4000
    rng = ctx.rng(806)
    rngs = {"features": rng, "train": rng, "test": rng, "init": rng}
    labels = make_partition(K_)
    M_ = 2 * MM_
    signs = np.array([1] * MM_ + [-1] * MM_)
    fails = 0
    for _ in range(draws):
        s = ReducedSampler(K_, D_, N_, M_, 1.0, 1e-8, rngs)
        F = s.features()
        tr = s.train(labels)
        W, b = s.init()
        _, gW, _ = BinaryNetwork(W, b).loss_and_grad(tr.X, tr.y)
        coef = -(gW @ F.T)  # (M, k)
        fails += int(np.any(coef * signs[:, None] * labels[None, :] <= 0))
    delta = float(ctx.prediction(ID, "delta")(N_, K_, M_, 1.0))
    extra = Term(f"neglected: a neuron firing on no point (coefficient 0: + M/2 E[prod 1/(n_j+1)] = "
                 f"{M_ / 2 * _all_inactive(N_, K_):.2g}), K >= 1 outvoted (M k Phi(-sqrt(d/n)) = 0 at d = {D_:.0e}), "
                 f"the Stein bias of the sign (delta sqrt(2n/(k d)))",
                 M_ / 2 * _all_inactive(N_, K_) + delta * math.sqrt(2 * N_ / (K_ * D_)))
    out = bound_outcome(fails, draws, delta, seeds=[ctx.seed], details={"pairs M k": M_ * K_},
                        config={"k": K_, "n": N_, "m": MM_, "d": D_, "init_scale": 1e-8, "engine": "reduced"})
    band = out.band
    from featavg.evidence import Band

    out.band = Band(band.center, band.terms + (extra,), band.limits, band.side)
    out.details["paper setting delta (n = 1000, k = 10, M = 10)"] = float(ctx.prediction(ID, "delta")(1000, 10, 10, 1.0))
    return out


SIGNS = Check(ID, "P(some early coefficient -<grad_{w_r} L, mu_j> has sign != y_j s_r) <= M k (1/2) E[1/(n_j+1)]",
              f"simulator gradient at the reduced engine's init, k = {K_}, n = {N_}, m = {MM_}, d = {D_:.0e}, init 1e-8; "
              "2000 draws (full 4000); failure = any of the M k pairs with the wrong sign (or 0)", _measure,
              rivals=(Rival("C/2", "the union bound with its constant a factor of 2 smaller (delta/2)"),),
              faults=("lemma_constant",))

LEMMA_FAULT = LEMMA_CONSTANT
