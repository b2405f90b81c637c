r"""C1.model_gradients: the per-example gradients of the two networks, derived by SymPy.

Binary network (docs/science.md §1):

.. math::
    f(x) = \frac1m\sum_r \mathrm{ReLU}(\langle w_{+1,r},x\rangle+b_{+1,r})
         - \frac1m\sum_r \mathrm{ReLU}(\langle w_{-1,r},x\rangle+b_{-1,r}),
    \qquad L = \frac1n\sum_i \ell(y_i f(x_i)),\quad \ell(q)=\log(1+e^{-q}),

so :math:`\partial L/\partial w_{s,r} = \frac1n\sum_i \ell'(y_if_i)\,y_i\,\frac sm\,
H(z_{i,s,r})\,x_i` with :math:`\ell'(q) = -1/(1+e^q)` and :math:`H(z)=\mathrm{ReLU}'(z)`,
``ReLU'(0) = 0`` (SymPy ``Heaviside(z, 0)``). Multi-class network: :math:`f_j = \frac1h\sum_r
\mathrm{ReLU}(z_{j,r})`, mean softmax cross-entropy with cluster labels :math:`c_i`, so
:math:`\partial L/\partial w_{j,r} = \frac1{nh}\sum_i (p_{ij} - 1\{j=c_i\}) H(z_{i,j,r}) x_i`.

Derivation for every size: the inner product :math:`\langle w, x\rangle = \sum_{i=1}^d w_i x_i` is a
SymPy ``Sum`` over ``IndexedBase`` coordinates with a symbolic ``d``; SymPy differentiates it
with respect to the coordinate :math:`w_c` (a Kronecker delta, summed for ``1 <= c <= d``); the
softmax is a ``Sum`` over ``k`` outputs, differentiated with respect to :math:`f_j`.

Evidence: the simulator's hand-derived gradients (:mod:`featavg.simulate._networks`) equal the
gradients SymPy computes by differentiating the loss written out coordinate by coordinate
(:func:`featavg.theory.binary_loss_and_grad_symbolic`), to float64 round-off; the rivals are the
gradients of the same losses with a normalisation dropped or the margin's sign flipped.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, round_off
from featavg.theory import (Claim, ReLU, Step, binary_loss_and_grad_symbolic, is_zero, lambdify_prediction,
                            multiclass_loss_and_grad_symbolic, notation)
from featavg.theory._claim import Text
from featavg.theory._common import d, evaluate_sums, k, logistic

ID = "C1.model_gradients"
ORDER = (1, 0)


def derive():
    """The claim: closed-form gradients equal SymPy's derivatives, for every d and k."""
    q, zs = sp.symbols("q z", real=True)
    m, n = sp.symbols("m n", positive=True, integer=True)
    y, s = sp.symbols("y s", real=True)
    i, c, j, l = sp.symbols("i c j l", positive=True, integer=True)
    w, x = sp.IndexedBase("w", real=True), sp.IndexedBase("x", real=True)
    b = sp.Symbol("b", real=True)
    lprime = -1 / (1 + sp.exp(q))
    # one example's contribution to L, with the rest of f (the other neurons) as a symbol
    rest = sp.Symbol("f_rest", real=True)
    z = sp.Sum(w[i] * x[i], (i, 1, d)) + b
    f = s * ReLU(z) / m + rest
    loss_i = logistic(y * f) / n
    hand_w = lprime.subs(q, y * f) * y * s / m * sp.Heaviside(z, 0) * x[c] / n
    hand_b = lprime.subs(q, y * f) * y * s / m * sp.Heaviside(z, 0) / n

    # multi-class: CE = log sum_l e^{f_l} - f_c, differentiated in f_j (k outputs, label c)
    F = sp.IndexedBase("f", real=True)
    ce = sp.log(sp.Sum(sp.exp(F[l]), (l, 1, k))) - F[c]
    p_j = sp.exp(F[j]) / sp.Sum(sp.exp(F[l]), (l, 1, k))
    sizes = [(c, 1, d), (j, 1, k), (l, 1, k)]

    def derivative_is(expr, var, ranges):
        return lambda st: is_zero(evaluate_sums(sp.diff(expr, var), ranges) - st.rhs)

    def relu_convention(st):
        ok = True
        for eq in st.args:
            if isinstance(eq.lhs, sp.Derivative):
                ok &= is_zero(sp.diff(ReLU(zs), zs) - eq.rhs)
            else:
                ok &= sp.Heaviside(0, 0) == eq.rhs
        return ok

    w_sr = sp.Symbol("w_s,r", real=True)
    xi_, Hz = sp.Symbol("x_i"), notation("H")(sp.Symbol("z_i,s,r"))
    statement = sp.Eq(sp.Derivative(sp.Symbol("L"), w_sr),
                      sp.Sum(lprime.subs(q, sp.Symbol("q_i")) * sp.Symbol("y_i") * s / m * Hz * xi_,
                             (sp.Symbol("i"), 1, n)) / n)
    ell = notation("ell")
    steps = (
        Step(Text("logistic loss: ", sp.Eq(sp.Derivative(ell(q), q), lprime, evaluate=False)),
             sp.Eq(sp.Derivative(logistic(q), q), lprime, evaluate=False),
             lambda st: is_zero(sp.diff(logistic(q), q) - st.rhs)),
        Step(Text("ReLU derivative with the convention ", sp.Eq(sp.Heaviside(0, 0, evaluate=False), 0, evaluate=False)),
             sp.And(sp.Eq(sp.Derivative(ReLU(zs), zs), sp.Heaviside(zs, 0), evaluate=False),
                    sp.Eq(sp.Heaviside(0, 0, evaluate=False), 0, evaluate=False), evaluate=False),
             relu_convention),
        Step(Text("chain rule in a coordinate ", w[c], " of ", sp.Symbol("w_s,r"), ", in any dimension ", d),
             sp.Eq(sp.Derivative(loss_i, w[c]), hand_w, evaluate=False), derivative_is(loss_i, w[c], sizes)),
        Step(Text("chain rule in the bias ", sp.Symbol("b_s,r")),
             sp.Eq(sp.Derivative(loss_i, b), hand_b, evaluate=False), derivative_is(loss_i, b, sizes)),
        Step(Text("softmax cross-entropy over ", k, " outputs: ",
                  sp.Eq(sp.Derivative(sp.Symbol("CE"), F[j]), sp.Symbol("p_j") - sp.KroneckerDelta(c, j),
                        evaluate=False)),
             sp.Eq(sp.Derivative(ce, F[j]), p_j - sp.KroneckerDelta(c, j), evaluate=False),
             derivative_is(ce, F[j], sizes)),
    )
    preds = {
        "logistic_loss": lambdify_prediction([q], logistic(q), "l(q) = log(1 + e^{-q})"),
        "logistic_loss_derivative": lambdify_prediction([q], lprime, "l'(q) = -1/(1 + e^q)"),
        "binary_loss_and_grad": binary_loss_and_grad_symbolic,
        "multiclass_loss_and_grad": multiclass_loss_and_grad_symbolic,
    }
    return Claim(
        id=ID,
        title="Per-example gradients of the binary (logistic) and multi-class (cross-entropy) networks",
        statement=statement,
        assumptions=Text("ReLU has derivative ", sp.Heaviside(zs, 0), " with ", sp.Eq(sp.Heaviside(0, 0, evaluate=False), 0,
                                                                                    evaluate=False),
                         "; the second layer is fixed at ", 1 / m, " and ", -1 / m, " (binary) or ", 1 / sp.Symbol("h"),
                         " (multi-class)."),
        regime="exact (no approximation)",
        steps=steps,
        predictions=preds,
    )


# ---- evidence -----------------------------------------------------------------------------------

#: sizes of the random problem: small enough for SymPy's coordinate-wise differentiation
_SIZES = {"n": 7, "d": 6, "m": 2, "k": 3, "h": 2}


def _gradients(ctx):
    from featavg.simulate import BinaryNetwork, MultiClassNetwork

    n, d, m, k, h = (_SIZES[x] for x in ("n", "d", "m", "k", "h"))
    rng = ctx.rng(11)
    X = rng.standard_normal((n, d))
    y = rng.choice([-1, 1], n)
    clusters = rng.integers(0, k, n)
    W, b = rng.standard_normal((2 * m, d)), rng.standard_normal(2 * m)
    Wc, bc = rng.standard_normal((k * h, d)), rng.standard_normal(k * h)
    ref_b = ctx.prediction(ID, "binary_loss_and_grad")
    ref_c = ctx.prediction(ID, "multiclass_loss_and_grad")

    def flat(b_out, c_out):
        return np.concatenate([np.ravel(b_out[1]), np.ravel(b_out[2]), np.ravel(c_out[1]), np.ravel(c_out[2])])

    sym = flat(ref_b(W, b, X, y), ref_c(Wc, bc, X, clusters, h))
    got = flat(BinaryNetwork(W.copy(), b.copy()).loss_and_grad(X, y),
               MultiClassNetwork(Wc.copy(), bc.copy(), h=h).loss_and_grad(X, clusters))
    # rivals: the same losses with a normalisation dropped, or the margin's sign flipped
    rb, rc = ref_b(W, b, X, y), ref_c(Wc, bc, X, clusters, h)
    no_width = flat((rb[0], m * rb[1], m * rb[2]), (rc[0], h * rc[1], h * rc[2]))
    no_mean = n * sym
    flipped = flat(ref_b(W, b, X, -y), rc)
    return n, d, sym, got, {"missing 1/m and 1/h": no_width, "missing 1/n": no_mean,
                            "margin sign flipped (l'(-yf))": flipped}


def _measure_gradients(ctx):
    n, d, sym, got, rivals = _gradients(ctx)
    scale = float(np.max(np.abs(sym)))
    # each entry is a sum of n products of d-term inner products: float64 round-off is at most
    # about (n + d) eps |g|_max per entry (both sides), doubled for the two computations
    band = Band(sym, (Term(f"float64 round-off of both gradients: 2 (n + d) eps max|g|, n={n}, d={d}",
                           round_off(scale, 2 * (n + d))),))
    err = float(np.max(np.abs(got - sym)) / scale)
    return Outcome(sym, got, band, rivals=rivals, details={"max_relative_error": err, "entries": int(sym.size)},
                   config=dict(_SIZES))


GRADIENTS = Check(
    "C1.model_gradients", "Simulator's hand-derived gradients (binary and multi-class) = SymPy's",
    "random small problem (n=7, d=6, m=2, k=3, h=2), generic point (no ReLU kinks)", _measure_gradients,
    rivals=(Rival("missing 1/m and 1/h", "the second layer's normalisation dropped"),
            Rival("missing 1/n", "the sum instead of the mean over training points"),
            Rival("margin sign flipped (l'(-yf))", "the logistic derivative at -y f (a sign convention error)")),
    faults=("gradient",))
