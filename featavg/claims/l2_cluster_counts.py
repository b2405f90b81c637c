r"""L2.cluster_counts: every cluster holds about ``n/k`` training points.

The cluster indices are i.i.d. uniform on ``[k]`` (Definition 3.1), so the counts ``n_j`` are
multinomial with ``Bin(n, 1/k)`` marginals and, with probability at least ``1 - delta``,
``|n_j - n/k| <= t`` for every ``j``:

.. math:: \delta = C\,k\,\big[P(\mathrm{Bin}(n, 1/k) \ge n/k + t + 1) + P(\mathrm{Bin}(n, 1/k) \le n/k - t - 1)\big],

with ``C = 1`` (union bound over the ``k`` clusters) and the exact binomial tails
``P(Bin(n, p) >= a) = I_p(a, n - a + 1)`` (regularised incomplete beta). Near-tight: the
threshold is the smallest integer ``t`` at which ``delta <= 0.25``, so each cluster fails with
probability about ``delta/k``, rarely and nearly disjointly (the multinomial counts are
negatively associated, which only makes the union bound tighter for the joint event); the rival
``C = 1/2`` then lies far below the measured failure probability.

Evidence: cluster indices drawn as the engines draw them (``rng.integers(0, k, size=n)``) at the
paper's ``n = 1000``, ``k = 10``, many independent draws.
"""

import math

import numpy as np
import sympy as sp

from featavg.claims._lemma_sympy import lemma_lambdify
from featavg.evidence import Check, Rival
from featavg.lemmas import LEMMA_CONSTANT, bound_outcome
from featavg.theory import Claim, Step, is_zero, notation
from featavg.theory._common import k, n

ID = "L2.cluster_counts"
ORDER = (8, 1)

t, C, a, q = sp.symbols("t C a q", positive=True)
K_, N_ = 10, 1000
TARGET = 0.25


def _tail_ge(n_, p_, a_):
    """``P(Bin(n, p) >= a) = I_p(a, n - a + 1)``."""
    return sp.betainc_regularized(a_, n_ - a_ + 1, 0, p_)


def derive():
    r"""The exact binomial tails and the union bound over the ``k`` clusters."""
    p_ = 1 / k
    hi_tail = _tail_ge(n, p_, n / k + t + 1)
    lo_tail = 1 - _tail_ge(n, p_, n / k - t)
    delta = C * k * (hi_tail + lo_tail)
    P = notation("P")
    nj = sp.Symbol("n_j")
    statement = sp.Le(P(sp.Gt(sp.Abs(nj - n / k), t)), delta, evaluate=False)
    x = sp.Symbol("x", positive=True)
    steps = (
        Step("d/dp I_p(a, n - a + 1) = n C(n-1, a-1) p^(a-1) (1-p)^(n-a): the density of the beta law is the "
             "binomial telescoping derivative",
             sp.Eq(sp.Derivative(sp.betainc_regularized(a, n - a + 1, 0, q), q),
                   n * sp.binomial(n - 1, a - 1) * q ** (a - 1) * (1 - q) ** (n - a), evaluate=False),
             _beta_density_check),
        Step("P(Bin(n, p) >= a) = I_p(a, n - a + 1) (both vanish at p = 0 and have the same p-derivative)",
             sp.Eq(sp.Sum(sp.binomial(n, x) * q ** x * (1 - q) ** (n - x), (x, a, n)),
                   sp.betainc_regularized(a, n - a + 1, 0, q), evaluate=False),
             _binomial_tail_check, generality="instance", instances="n = 1..8, every a = 1..n, as polynomials in p"),
        Step("the counts are multinomial with Bin(n, 1/k) marginals; union bound over the k clusters (C = 1)",
             sp.Le(P(sp.Gt(sp.Abs(nj - n / k), t)), delta, evaluate=False),
             lambda: is_zero(sp.Sum(sp.binomial(n, x) * (1 / k) ** x * (1 - 1 / k) ** (n - x), (x, 0, n))
                             .subs({n: 7, k: 3}).doit() - 1)),
    )
    preds = {"delta": lemma_lambdify([t, n, k, C], delta,
                                     "delta(t, n, k, C) = C k [P(Bin(n,1/k) >= n/k + t + 1) + P(Bin(n,1/k) <= n/k - t - 1)]")}
    return Claim(id=ID, title="Cluster counts are within t of n/k for all k clusters (exact binomial tails, union bound)",
                 statement=statement,
                 assumptions="cluster indices i.i.d. uniform on [k] (Definition 3.1); n/k an integer in the check; "
                             "C = 1: the union bound.",
                 regime=f"any n, k; checked at the paper's n = {N_}, k = {K_} with t the smallest integer where "
                        f"delta <= {TARGET}", steps=steps, predictions=preds, kind="lemma")


def _beta_density_check():
    """``d/dp I_p(a, b) = p^(a-1)(1-p)^(b-1)/B(a, b)`` and ``1/B(a, n-a+1) = n C(n-1, a-1)``."""
    b = n - a + 1
    dens = sp.diff(sp.betainc_regularized(a, b, 0, q), q)
    beta_form = q ** (a - 1) * (1 - q) ** (b - 1) / sp.beta(a, b)
    ok1 = is_zero(sp.gammasimp((dens - beta_form).rewrite(sp.gamma)))
    ok2 = is_zero(sp.gammasimp((1 / sp.beta(a, b)).rewrite(sp.gamma) - (n * sp.binomial(n - 1, a - 1)).rewrite(sp.gamma)))
    return ok1 and ok2


def _binomial_tail_check():
    p_ = sp.Symbol("p")
    for N in range(1, 9):
        for A in range(1, N + 1):
            tail = sum(sp.binomial(N, xx) * p_ ** xx * (1 - p_) ** (N - xx) for xx in range(A, N + 1))
            beta = sp.integrate(p_ ** (A - 1) * (1 - p_) ** (N - A), (p_, 0, p_)) * N * sp.binomial(N - 1, A - 1)
            if sp.expand(tail - beta) != 0:
                return False
    return True


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    delta_fn = ctx.prediction(ID, "delta")
    t_ = next(tt for tt in range(0, N_) if float(delta_fn(tt, N_, K_, 1.0)) <= TARGET)
    delta = float(delta_fn(t_, N_, K_, 1.0))
    draws = 3000 if ctx.quick else 8000
    rng = ctx.rng(802)
    fails = 0
    for start in range(0, draws, 1000):
        b = min(1000, draws - start)
        c = rng.integers(0, K_, size=(b, N_))
        counts = np.zeros((b, K_), dtype=np.int64)
        np.add.at(counts, (np.repeat(np.arange(b), N_), c.ravel()), 1)
        fails += int(np.sum(np.abs(counts - N_ // K_).max(axis=1) > t_))
    # Chernoff-Hoeffding for comparison: P(|n_j - n/k| > t) <= 2 exp(-2 (t+1)^2/n)
    hoeffding = K_ * 2 * math.exp(-2 * (t_ + 1) ** 2 / N_)
    return bound_outcome(fails, draws, delta, seeds=[ctx.seed], looser={"Hoeffding k 2 e^{-2(t+1)^2/n}": hoeffding},
                         details={"threshold t": t_}, config={"n": N_, "k": K_, "threshold_at_delta": TARGET})


COUNTS = Check(ID, "P(max_j |n_j - n/k| > t) <= k x exact binomial two-sided tail (union over k clusters)",
               f"cluster indices as the engines draw them, n = {N_}, k = {K_}; 3000 draws (full 8000); t the smallest "
               f"integer where the bound is <= {TARGET}", _measure,
               rivals=(Rival("C/2", "the union bound with its constant a factor of 2 smaller (delta/2)"),),
               faults=("lemma_constant",))

LEMMA_FAULT = LEMMA_CONSTANT
