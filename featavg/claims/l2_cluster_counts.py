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

from featavg.claims._lemma_sympy import binomial_theorem, lemma_lambdify
from featavg.evidence import Check, Rival
from featavg.lemmas import LEMMA_CONSTANT, bound_outcome
from featavg.theory import Claim, Step, Text, is_zero, notation
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
    P, Bin = notation("P"), notation("Bin")
    nj = sp.Symbol("n_j")
    event = P(sp.Gt(sp.Abs(nj - n / k), t))
    statement = sp.Le(event, delta, evaluate=False)
    x = sp.Symbol("x", integer=True, nonnegative=True)
    term = sp.binomial(n, x) * q ** x * (1 - q) ** (n - x)

    def union(st):
        # Bin(n, 1/k) marginals: the pmf sums to one (the binomial theorem for symbolic n at a = 1/k, b = 1 - 1/k);
        # for integers, |n_j - n/k| > t iff n_j >= n/k + t + 1 or n_j <= n/k - t - 1 (SymPy's inequality solver
        # on the reals, then integrality); P(n_j <= n/k - t - 1) = 1 - P(n_j >= n/k - t); the union bound sums the
        # two-sided tail over the k clusters
        theorem = binomial_theorem(n)
        if theorem is None or not is_zero(theorem(1 / k, 1 - 1 / k) - 1):
            return False
        z = sp.Symbol("z", real=True)
        if sp.solve_univariate_inequality(sp.Abs(z) > t, z) != sp.Or(sp.Lt(t, z), sp.Lt(z, -t)):
            return False
        j_ = sp.Symbol("j", integer=True, positive=True)
        two_sided = _tail_ge(n, p_, n / k + t + 1) + (1 - _tail_ge(n, p_, n / k - t))
        bound = sp.Sum(two_sided, (j_, 1, k)).doit()
        small, big = (st.lhs, st.rhs) if isinstance(st, (sp.LessThan, sp.StrictLessThan)) else (st.rhs, st.lhs)
        return small == event and is_zero(big.subs(C, 1) - bound)

    steps = (
        Step(Text(sp.Eq(sp.Derivative(sp.betainc_regularized(a, n - a + 1, 0, q), q),
                        n * sp.binomial(n - 1, a - 1) * q ** (a - 1) * (1 - q) ** (n - a), evaluate=False),
                  ": the density of the Beta distribution is the telescoped derivative of the binomial tail"),
             sp.Eq(sp.Derivative(sp.betainc_regularized(a, n - a + 1, 0, q), q),
                   n * sp.binomial(n - 1, a - 1) * q ** (a - 1) * (1 - q) ** (n - a), evaluate=False),
             _beta_density_check),
        Step(Text(sp.Eq(P(sp.Ge(Bin(n, q), a, evaluate=False)), sp.betainc_regularized(a, n - a + 1, 0, q),
                        evaluate=False),
                  " for every n and a: both sides vanish at ", sp.Eq(q, 0, evaluate=False),
                  " and have the same derivative in ", q, " (the derivative of the tail telescopes)"),
             sp.Eq(sp.Sum(term, (x, a, n)), sp.betainc_regularized(a, n - a + 1, 0, q), evaluate=False),
             _binomial_tail_check),
        Step(Text("the counts are multinomial with ", Bin(n, 1 / k), " marginals; union bound over the ", k,
                  " clusters (", sp.Eq(C, 1, evaluate=False), ")"),
             statement, union),
    )
    preds = {"delta": lemma_lambdify([t, n, k, C], delta,
                                     "delta(t, n, k, C) = C k [P(Bin(n,1/k) >= n/k + t + 1) + P(Bin(n,1/k) <= n/k - t - 1)]")}
    return Claim(id=ID, title=Text("Cluster counts are within ", t, " of ", n / k, " for all ", k,
                                   " clusters (exact binomial tails, union bound)"),
                 statement=statement,
                 assumptions=Text("cluster indices i.i.d. uniform on the ", k, " clusters (Definition 3.1); ", n / k,
                                  " an integer in the check; ", sp.Eq(C, 1, evaluate=False), ": the union bound."),
                 regime=Text(f"any n, k; checked at the paper's n = {N_}, k = {K_} with ", t,
                             f" the smallest integer where the bound is at most {TARGET}"),
                 steps=steps, predictions=preds, kind="lemma")


def _beta_density_check(st):
    """``d/dp I_p(a, b) = p^(a-1)(1-p)^(b-1)/B(a, b)`` (SymPy's derivative of the regularised incomplete
    beta) and ``1/B(a, n-a+1) = n C(n-1, a-1)`` (Gamma functions): the statement's right side."""
    b = n - a + 1
    dens = sp.diff(sp.betainc_regularized(a, b, 0, q), q)
    beta_form = q ** (a - 1) * (1 - q) ** (b - 1) / sp.beta(a, b)
    ok1 = is_zero(sp.gammasimp((dens - beta_form).rewrite(sp.gamma)))
    ok2 = is_zero(sp.gammasimp((beta_form - st.rhs).rewrite(sp.gamma)))
    return ok1 and ok2


def _binomial_tail_check(st):
    r"""``P(Bin(n, q) >= a) = I_q(a, n - a + 1)`` for symbolic ``n`` and ``1 <= a <= n``.

    Term by term, ``d/dq [C(n, x) q^x (1-q)^(n-x)] = T(x-1) - T(x)`` with
    ``T(x) = n C(n-1, x) q^x (1-q)^(n-1-x)`` (checked for ``x <= n - 1``, writing ``n = x + 1 + j``,
    ``j >= 0``, and at ``x = n``); the sum over ``x = a..n`` telescopes (SymPy sums
    ``f(x-1) - f(x)`` for an undefined ``f``) to ``T(a-1) - T(n) = T(a-1)``, ``T(n) = 0``. The
    statement's right side must have that derivative and vanish at ``q = 0``, as the left side
    does (every term has a factor ``q^x``, ``x >= a >= 1``).
    """
    x = sp.Symbol("x", integer=True, nonnegative=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    term = sp.binomial(n, x) * q ** x * (1 - q) ** (n - x)

    def T(y):
        return n * sp.binomial(n - 1, y) * q ** y * (1 - q) ** (n - 1 - y)

    gap = sp.diff(term, q) - (T(x - 1) - T(x))
    below = sp.expand(sp.combsimp(sp.combsimp(gap.rewrite(sp.gamma)).subs(n, x + 1 + j)), power_exp=True)
    if sp.simplify(below) != 0 or sp.simplify(gap.subs(x, n)) != 0:
        return False
    f = sp.Function("f")
    telescoped = sp.Sum(f(x - 1) - f(x), (x, a, n)).doit()
    if telescoped != f(a - 1) - f(n) or sp.simplify(T(n)) != 0:
        return False
    derivative = telescoped.subs(f(a - 1), T(a - 1)).subs(f(n), T(n))
    xpos = sp.Symbol("x", integer=True, positive=True)
    # the right side at q = 0, by the definition I_q = int_0^q (...)/B: an integral over [0, 0]
    at_zero = st.rhs.subs(q, 0).rewrite(sp.Integral).replace(
        lambda e: isinstance(e, sp.Integral) and all(lim[1] == lim[-1] for lim in e.limits), lambda e: sp.Integer(0))
    vanish = term.subs(x, xpos).subs(q, 0) == 0 and is_zero(at_zero)
    lhs = st.lhs == sp.Sum(term, (x, a, n))
    return lhs and vanish and is_zero(sp.gammasimp((sp.diff(st.rhs, q) - derivative).rewrite(sp.gamma)))


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
