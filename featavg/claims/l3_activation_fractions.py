r"""L3.activation_fractions: at initialisation each neuron fires on a uniform random fraction of each cluster.

With small initialisation, for the points ``p`` of cluster ``j`` the pre-activations are
``z_p / (sigma_w sqrt d) = A + B_p`` to leading order in ``d``, with ``A = <w, mu_j>/(sigma_w d)``
shared by the cluster and ``B_p`` i.i.d. standard normals (the noise ``<w, xi_p>``). Given ``A``
the neuron fires on each point with probability ``Phi(A)``, and ``Phi(A)`` is uniform on (0, 1)
(probability integral transform). So the number ``K`` of the ``n_j`` points it fires on is the
beta-binomial with ``alpha = beta = 1``:

.. math:: P(K = x) = \int_0^1 \binom{n_j}{x} u^x (1-u)^{n_j - x}\, du = \frac{1}{n_j + 1},
          \qquad x = 0, \dots, n_j,

exactly uniform: the fraction ``K/n_j`` is uniform on ``{0, 1/n_j, ..., 1}``. In particular the
fraction falls in the quarter ``[x_lo/n_j, x_hi/n_j]`` with probability ``(x_hi - x_lo + 1)/(n_j + 1)``.
This is an exact probability, so the test is two-sided. The rivals: each point fired
independently with probability 1/2 (the shared ``A`` ignored: ``K ~ Bin(n_j, 1/2)``), and the
prediction halved (the lemma's constant a factor of 2 smaller).

Finite ``d``: exactly, ``z_p/(sigma_w sqrt d) = A + (||w~|| B_p + beta)/sqrt d``
(:func:`featavg.lemmas.one_neuron_preactivations`), i.e. the neuron fires on ``p`` iff
``B_p > -T``, ``T = S/rho``, ``S = (sqrt d A + beta)/sqrt(d+1) ~ N(0, 1)`` exactly and
``rho^2 = ||w~||^2/(d+1) = chi^2_d/(d+1)``. The law of ``K`` given ``S`` is the claimed one, so the
correction is bounded by ``sup|h'| sqrt(E[(1/rho - 1)^2])`` (``h(T)`` the quarter's probability
given ``T``; :func:`featavg.claims._lemma_sympy.finite_d_bound`), ``~ 7e-4 sup|h'|`` at ``d = 10^6``.

Evidence: the exact one-neuron reduced coordinates, ``n_j = 100``, ``d = 10^6``, many independent
draws (a fresh neuron and a fresh cluster each).
"""

import numpy as np
import sympy as sp

from featavg.claims._lemma_sympy import chi_moment_steps, finite_d_bound, lemma_lambdify
from featavg.evidence import Check, Rival, Term
from featavg.lemmas import LEMMA_CONSTANT, exact_outcome, one_neuron_preactivations
from featavg.theory import Claim, Step, Text, is_zero, notation
from featavg.theory._common import Phi, explicit, phi

ID = "L3.activation_fractions"
ORDER = (8, 2)

NJ, D_ = 100, 10 ** 6
#: the quarters of the fraction K/n_j: counts [x_lo, x_hi]
QUARTERS = ((0, 25), (26, 50), (51, 75), (76, 100))

nj, x = sp.symbols("n_j x", positive=True, integer=True)
xlo, xhi = sp.symbols("x_lo x_hi", nonnegative=True, integer=True)
uu = sp.Symbol("u", positive=True)
T = sp.Symbol("T", real=True)


def derive():
    r"""``P(K = x) = 1/(n_j + 1)``: Phi(A) uniform, and the beta integral."""
    pmf = sp.binomial(nj, x) * sp.beta(x + 1, nj - x + 1)
    quarter = (xhi - xlo + 1) / (nj + 1)
    # rival: K ~ Bin(n_j, 1/2): P(x_lo <= K <= x_hi) = I_{1/2}(x_lo, n-x_lo+1) - I_{1/2}(x_hi+1, n-x_hi)
    ind = (sp.betainc_regularized(xlo, nj - xlo + 1, 0, sp.Rational(1, 2))
           - sp.betainc_regularized(xhi + 1, nj - xhi, 0, sp.Rational(1, 2)))
    # finite d: the quarter's probability given T, h(T) = I_{Phi(T)}(x_lo, n-x_lo+1) - I_{Phi(T)}(x_hi+1, n-x_hi),
    # and its derivative (beta densities times phi(T))
    u_of_T = Phi(T)
    dens = lambda a_, b_: u_of_T ** (a_ - 1) * (1 - u_of_T) ** (b_ - 1) / sp.beta(a_, b_)  # noqa: E731
    # (the lower term is absent for x_lo = 0, the upper one for x_hi = n_j: P(K >= 0) = 1, P(K > n_j) = 0)
    h_prime = phi(T) * (sp.Piecewise((0, sp.Eq(xlo, 0)), (dens(xlo, nj - xlo + 1), True))
                        - sp.Piecewise((0, sp.Eq(xhi, nj)), (dens(xhi + 1, nj - xhi), True)))
    P = notation("P")
    K = sp.Symbol("K")
    statement = sp.Eq(P(sp.Eq(K, x)), 1 / (nj + 1), evaluate=False)
    A = sp.Symbol("A", real=True)
    b = sp.Symbol("b", real=True)
    inverse = sp.sqrt(2) * sp.erfinv(2 * uu - 1)

    def uniform(st):
        # P(Phi(A) <= u) = P(A <= Phi^-1(u)) = Phi(Phi^-1(u)); sqrt 2 erfinv(2u - 1) inverts Phi from both sides
        left_inverse = sp.simplify(explicit(sp.sqrt(2) * sp.erfinv(2 * Phi(A) - 1))) == A
        return left_inverse and is_zero(Phi(inverse) - st.rhs)

    def fires(st):
        # P(A + B > 0 | A) = P(B > -A), B standard normal: the density integrated over (-A, oo)
        return is_zero((sp.integrate(explicit(phi(b)), (b, -A, sp.oo)) - st.rhs).rewrite(sp.erf))

    def beta_binomial(x_):
        """C(n_j, x) B(x + 1, n_j - x + 1) in Gamma functions, simplified."""
        return sp.gammasimp(sp.binomial(nj, x_).rewrite(sp.gamma) * sp.beta(x_ + 1, nj - x_ + 1).rewrite(sp.gamma))

    def uniform_count(st):
        return is_zero(beta_binomial(x) - st.rhs)

    def quarter_probability(st):
        return is_zero(sp.Sum(beta_binomial(x), (x, xlo, xhi)).doit() - st.rhs)

    frac = sp.Symbol("K") / nj
    steps = (
        Step(Text(Phi(A), " is uniform: ", sp.Eq(P(sp.Le(Phi(A), uu, evaluate=False)), uu, evaluate=False),
                  ", since the inverse of the normal distribution function is ", inverse),
             sp.Eq(Phi(inverse), uu, evaluate=False), uniform),
        Step(Text("given ", A, ", the neuron fires on a point with probability ",
                  sp.Eq(P(sp.Gt(A + sp.Symbol("B"), 0, evaluate=False)), Phi(A), evaluate=False)),
             sp.Eq(sp.Integral(phi(b), (b, -A, sp.oo)), Phi(A), evaluate=False), fires),
        Step(Text(sp.Eq(P(sp.Eq(K, x, evaluate=False)),
                        sp.Integral(sp.binomial(nj, x) * uu ** x * (1 - uu) ** (nj - x), (uu, 0, 1)), evaluate=False),
                  ", a binomial coefficient times a Beta function, is ", 1 / (nj + 1)),
             sp.Eq(pmf, 1 / (nj + 1), evaluate=False), uniform_count),
        Step(Text("the fraction ", frac, " falls in ", sp.Interval(xlo / nj, xhi / nj), " with probability ", quarter),
             sp.Eq(sp.Sum(1 / (nj + 1), (x, xlo, xhi)), quarter, evaluate=False), quarter_probability),
        *chi_moment_steps(Step, is_zero),
    )
    preds = {
        "quarter": lemma_lambdify([xlo, xhi, nj], quarter, "P(x_lo <= K <= x_hi) = (x_hi - x_lo + 1)/(n_j + 1)"),
        "quarter_independent": lemma_lambdify([xlo, xhi, nj], ind,
                                              "rival: P(x_lo <= K <= x_hi) for K ~ Bin(n_j, 1/2) (A ignored)"),
        "quarter_derivative": lemma_lambdify([T, xlo, xhi, nj], h_prime,
                                             "h'(T): derivative of P(x_lo <= K <= x_hi | T), K ~ Bin(n_j, Phi(T))"),
    }
    sigma_b, sigma_w = sp.symbols("sigma_b sigma_w", positive=True)
    return Claim(id=ID, title=Text("Each neuron fires on a uniform fraction ", Phi(A), " of each cluster at initialisation"),
                 statement=statement,
                 assumptions=Text("small initialisation (the output need not be near 0: only the signs of the "
                                  "pre-activations matter); ", sp.Eq(sigma_b, sigma_w, evaluate=False),
                                  "; leading order in d, the correction bounded at finite d."),
                 regime=Text("initialisation; checked at ", sp.Eq(nj, NJ, evaluate=False), f", d = {D_:.0e}"),
                 steps=steps, predictions=preds, kind="lemma")


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    draws = 6000 if ctx.quick else 15000
    rng = ctx.rng(803)
    (Z,), _ = one_neuron_preactivations(rng, draws, (NJ,), D_)
    K = np.sum(Z > 0, axis=1)
    counts = np.array([np.sum((K >= lo) & (K <= hi)) for lo, hi in QUARTERS])
    q = ctx.prediction(ID, "quarter")
    ind = ctx.prediction(ID, "quarter_independent")
    hp = ctx.prediction(ID, "quarter_derivative")
    pred = np.array([float(q(lo, hi, NJ)) for lo, hi in QUARTERS])
    rival_ind = np.array([float(ind(lo, hi, NJ)) for lo, hi in QUARTERS])
    bounds = [finite_d_bound(lambda T, lo=lo, hi=hi: hp(T, lo, hi, NJ), D_) for lo, hi in QUARTERS]
    term = Term(f"finite-d correction: sup|h'| sqrt(E[(1/rho - 1)^2]) per quarter (Cauchy-Schwarz, rho^2 = chi^2_d/(d+1), "
                f"d = {D_:.0e}; rms {bounds[0][2]:.3g})", np.array([b[0] for b in bounds]))
    return exact_outcome(counts, draws, pred, {"K ~ Bin(n_j, 1/2)": rival_ind, "C/2": 0.5 * pred},
                         labels=[f"K in [{lo}, {hi}]" for lo, hi in QUARTERS], seeds=[ctx.seed], bounds=(term,),
                         details={"sup |h'| per quarter": [b[1] for b in bounds]},
                         config={"n_j": NJ, "d": D_, "sampler": "exact one-neuron reduced coordinates"})


FRACTIONS = Check(ID, "Fraction of a cluster a neuron fires on at init: uniform, P(quarter) = 26/101, 25/101, 25/101, 25/101",
                  f"exact one-neuron reduced coordinates (featavg.lemmas.one_neuron_preactivations), n_j = {NJ}, "
                  f"d = {D_:.0e}, sigma_b = sigma_w; 6000 draws (full 15000), two-sided per quarter",
                  _measure, rivals=(Rival("K ~ Bin(n_j, 1/2)", "each point fired independently with probability 1/2 "
                                          "(the shared A ignored)"),
                                    Rival("C/2", "the predicted probabilities a factor of 2 smaller")),
                  faults=("lemma_constant",))

LEMMA_FAULT = LEMMA_CONSTANT
