r"""V4.label_noise: binary labels flipped at rate q slow the early phase by 1 - 2q (and what it does later, measured).

Data variant (issue 18): each training label is flipped independently with probability ``q``
(:class:`featavg.simulate.Config` ``label_noise``; test labels stay clean).

Claim. In the early phase (``f ~ 0``, C7.early_gradient) the logistic loss's weight is
:math:`l'(0) = -1/2` for every point, so the gradient is linear in the labels:
:math:`-\nabla_{w_r}L = \frac{1}{2mn}\sum_i y_i s_r 1\{z_{ir} > 0\} x_i`. A flipped label reverses its
point's term, and :math:`E[y_i \mid c_i = j] = (1-2q)\,y_j`: every feature coefficient of the early
gradient, hence the early drift towards the class-average features, is multiplied by
:math:`1 - 2q` (the early phase takes :math:`1/(1-2q)` times as long). For a fixed sample and
initialisation the sum :math:`T(q) = \sum_r\sum_{j\in J_{s_r}} -\langle\nabla_{w_r}L, \mu_j\rangle/d` is
:math:`\sum_i C_i(1 - 2F_i)` with :math:`F_i \sim \mathrm{Bernoulli}(q)` the flips, so
:math:`E\,T(q) = (1-2q)\,T(0)` and :math:`\mathrm{Var}\,T(q) = 4q(1-q)\sum_i C_i^2` exactly (to the
linearisation of :math:`l'` at 0).

Later (measured finding, not a theorem; figure): the trained net still averages at first, then fits
the flipped points through their own noise: the averaging score and the median exact radius fall with
``q`` and with training time while the clean test accuracy stays near 1.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Fault, Figure, Outcome, Rival, Term
from featavg.theory import Claim, Step, Text, factor_sums, is_zero, lambdify_prediction, notation, sums_equal

ID = "V4.label_noise"
ORDER = (10, 3)

q = sp.Symbol("q", nonnegative=True)
FACTOR = 1 - 2 * q
VARIANCE = 4 * q * (1 - q)


def _rhs(st, lhs):
    """The right side of the equation ``lhs = ...`` in the statement ``st`` (an equation or a conjunction of
    equations, whose order SymPy does not keep); ``None`` if there is none (then the check fails)."""
    for eq in (st.args if isinstance(st, sp.And) else (st,)):
        if isinstance(eq, sp.Equality) and eq.lhs == lhs:
            return eq.rhs
    return None


def derive():
    """Flip law, the linear early gradient, its mean and variance under flips (for any number of points)."""
    y, x = sp.symbols("y x", real=True)
    y_i, y_j = sp.Symbol("y_i"), sp.Symbol("y_j")
    T = notation("T")
    i = sp.Symbol("i", integer=True, positive=True)
    n_pts = sp.Symbol("n", positive=True, integer=True)
    C = sp.IndexedBase("C", real=True)
    S_C2 = sp.Sum(C[i] ** 2, (i, 1, n_pts))
    E_T, Var_T = notation("E")(T(q)), notation("Var")(T(q))

    def mean_label(st):
        # y_i = y_j with probability 1 - q, -y_j with probability q
        return is_zero(((1 - q) * y + q * (-y)) - st.rhs.subs(y_j, y))

    def linear_at_zero(st):
        # l(x) = log(1 + e^{-x}); l'(0): the early weight of every point is the same
        ell = sp.log(1 + sp.exp(-x))
        return is_zero(sp.diff(ell, x).subs(x, 0) - st.rhs)

    def flips(st):
        # T(q) = sum_i C_i (1 - 2 F_i), F_i ~ Bernoulli(q) independent: each term has mean (1 - 2q) C_i and variance
        # E[(1 - 2F)^2] C_i^2 - ((1 - 2q) C_i)^2; the mean of the sum is the sum of the means, its variance the sum of
        # the variances (independence); T(0) = sum_i C_i
        mean_i = (1 - q) * C[i] + q * (-C[i])
        var_i = (1 - q) * C[i] ** 2 + q * C[i] ** 2 - mean_i ** 2
        mean_T = factor_sums(sp.Sum(mean_i, (i, 1, n_pts)))
        var_T = factor_sums(sp.Sum(sp.factor(var_i), (i, 1, n_pts)))
        e_st, v_st = _rhs(st, E_T), _rhs(st, Var_T)
        if e_st is None or v_st is None:
            return False
        e_st = e_st.subs(T(0), sp.Sum(C[i], (i, 1, n_pts)))
        return sums_equal(mean_T, e_st, [(i, 1, n_pts)]) and sums_equal(var_T, v_st, [(i, 1, n_pts)])

    ell_prime = sp.Subs(sp.Derivative(sp.log(1 + sp.exp(-x)), x), x, 0)
    grad = sp.Derivative(sp.Symbol("L"), sp.Symbol("w_r"))
    z_ir, s_r, x_i = sp.Symbol("z_ir"), sp.Symbol("s_r"), sp.Symbol("x_i")
    m_ = sp.Symbol("m")
    steps = (
        Step(Text("a flipped label: ", sp.Eq(notation("E")(y_i), (1 - q) * y_j - q * y_j, evaluate=False),
                  ", that is ", FACTOR * y_j),
             sp.Eq(notation("E")(y_i), FACTOR * y_j, evaluate=False), mean_label),
        Step(Text("early phase (", sp.Symbol("f"), " near 0): ",
                  sp.Eq(ell_prime, -sp.Rational(1, 2), evaluate=False), ", so ",
                  sp.Eq(-grad, sp.Sum(y_i * s_r * sp.Heaviside(z_ir) * x_i, (i, 1, sp.Symbol("n"))) / (2 * m_ * sp.Symbol("n")),
                        evaluate=False), " is linear in the labels"),
             sp.Eq(ell_prime, -sp.Rational(1, 2), evaluate=False), linear_at_zero),
        Step(Text("for a fixed sample: ", sp.Eq(E_T, FACTOR * T(0), evaluate=False), " and ",
                  sp.Eq(Var_T, VARIANCE * S_C2, evaluate=False), ", for any number ", n_pts, " of points"),
             sp.And(sp.Eq(E_T, FACTOR * T(0), evaluate=False), sp.Eq(Var_T, VARIANCE * S_C2, evaluate=False)), flips),
    )
    preds = {"early_factor": lambdify_prediction([q], FACTOR, "1 - 2q: the early gradient's factor under label noise q"),
             "flip_variance": lambdify_prediction([q], VARIANCE, "4 q (1 - q): the variance factor of the flips")}
    return Claim(
        id=ID, title=Text("Label noise ", q, " multiplies the early-phase gradient by ", FACTOR, " (later effects measured)"),
        statement=sp.Eq(notation("E")(T(q)), FACTOR * T(0), evaluate=False),
        assumptions=Text("Binary labels of the training set flipped independently with probability ", q,
                         " (test labels clean); early phase: ", sp.Abs(sp.Symbol("f")), " much smaller than 1, so ",
                         sp.Eq(sp.Subs(sp.Derivative(notation("ell")(x), x), x, sp.Symbol("y") * sp.Symbol("f")),
                               -sp.Rational(1, 2), evaluate=False), " to first order (C7.early_gradient)."),
        regime="early phase (at the initialisation); the late phase is a measured finding (figure)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

Q = 0.2


def _measure(ctx):
    from featavg.evidence import quantile
    from featavg.simulate import BinaryNetwork, Config

    n = 2000 if ctx.quick else 4000
    cfg = Config(k=10, d=200, n=n, n_test=10, m=5, steps=0, init_scale=1e-5, seed=ctx.child_seed(104), label_noise=Q)
    run = ctx.run(cfg)
    F, lab, X, yq, c = run.features, run.cluster_labels, run.train.X, run.train.y, run.train.clusters
    y0 = lab[c]
    net = BinaryNetwork(run.W_init, run.b_init)
    s = net.neuron_signs
    own = (s[:, None] == lab[None, :]).astype(float)  # (M, k): j in J_{s_r}

    def total(y):
        _, gW, _ = net.loss_and_grad(X, y)
        return float(np.sum(-(gW @ F.T) / cfg.d * own))

    T0, Tq = total(y0), total(yq)
    # C_i of the linearised gradient (l' = -1/2): (1/(2 m n)) y_i^0 sum_r s_r 1{z_ir > 0} sum_{j in J_{s_r}} <x_i, mu_j>/d
    Z = net.preactivations(X)
    proj = (X @ F.T) / cfg.d  # (n, k)
    Ci = y0 * np.einsum("ir,r,ir->i", (Z > 0).astype(float), s, proj @ own.T) / (2 * cfg.m * cfg.n)
    fac = float(ctx.prediction(ID, "early_factor")(Q))
    se = float(np.sqrt(ctx.prediction(ID, "flip_variance")(Q) * np.sum(Ci ** 2))) / abs(T0)
    f0 = np.abs(net.output(X)).max()
    lin = 2 * (f0 / 4) / 0.5  # |l'(yf) - l'(0)| <= |f|/4 against |l'(0)| = 1/2, in T(q) and in T(0)
    z = quantile()
    band = Band(fac, (Term(f"z = {z:.3g} x the flips' standard error 2 sqrt(q(1-q) sum_i C_i^2)/T(0) (n = {n})", z * se, "stat"),
                      Term("linearisation of l' at 0: |l'(yf) - l'(0)| <= |f|/4 (max |f| at the initialisation), relative "
                           "to 1/2, in both sums", lin * (1 + fac))))
    return Outcome(fac, Tq / T0, band, seeds=[cfg.seed],
                   rivals={"1 (label noise ignored)": 1.0, "1 - q (flipped points dropped, not reversed)": 1.0 - Q,
                           "(1 - 2q)^2": fac ** 2},
                   details={"T_clean": T0, "T_noisy": Tq, "flipped_fraction": float(np.mean(yq != y0)),
                            "max_abs_output_at_init": float(f0)},
                   config={"run": cfg.to_dict()})


def _halved():
    """The training labels are flipped at half the configured rate."""
    import contextlib

    @contextlib.contextmanager
    def patch():
        import featavg.simulate._engine as eng

        orig = eng.flip_labels
        eng.flip_labels = lambda sample, q_, rng: orig(sample, q_ / 2, rng)
        try:
            yield
        finally:
            eng.flip_labels = orig
    return patch()


HALVED = Fault("label_noise_halved", _halved.__doc__, patch=_halved)

EARLY = Check(
    "V4.label_noise", "Label noise q = 0.2: the early gradient's own-class feature coefficients shrink by 1 - 2q",
    "binary net at its initialisation (init 1e-5, so |f| < 1e-5), k=10, d=200, n=4000 (quick 2000), m=5, explicit "
    "engine; T(q)/T(0) for the same sample and weights, labels flipped from the label_noise stream", _measure,
    rivals=(Rival("1 (label noise ignored)", "the flips have no effect"),
            Rival("1 - q (flipped points dropped, not reversed)", "a flipped point treated as missing"),
            Rival("(1 - 2q)^2", "the factor applied twice")),
    faults=("closed_form", "label_noise_halved"))


# ---- figure (measured: the later phase) -------------------------------------------------------------

RATES = (0.0, 0.1, 0.2, 0.3, 0.4)
STEPS = (100, 400)


def _trained(ctx):
    from featavg._figures import BLUE, RED, new_figure
    from featavg._output import fmt
    from featavg.simulate import averaging_score

    N = 40 if ctx.quick else 80
    rows = []
    for T in STEPS:
        for q_ in RATES:
            run = ctx.run(ctx.paper_config("binary", ctx.seed, label_noise=q_, steps=T))
            r = ctx.radii(run, points=N)
            rows.append({"q": q_, "steps": T, "median_radius": float(np.median(r)),
                         "quartiles": np.quantile(r, [0.25, 0.75]).tolist(),
                         "averaging_score": averaging_score(run.network, run.features, run.cluster_labels),
                         "test_accuracy": float(np.mean(run.test.y * run.network.output(run.test.X) > 0)),
                         "train_fit_of_flipped": float(np.mean((run.train.y * run.network.output(run.train.X) > 0)
                                                               [run.train.y != run.cluster_labels[run.train.clusters]]))
                         if q_ > 0 else None})
    fig = new_figure((12.0, 4.6))
    ax1, ax2 = fig.subplots(1, 2)
    sq = float(np.sqrt(3072 / 10))
    for T, col, mk in ((STEPS[0], BLUE, "o-"), (STEPS[1], RED, "s-")):
        sel = [r_ for r_ in rows if r_["steps"] == T]
        x = np.array([r_["q"] for r_ in sel])
        med = np.array([r_["median_radius"] for r_ in sel])
        qq = np.array([r_["quartiles"] for r_ in sel])
        ax1.errorbar(x, med / sq, yerr=[(med - qq[:, 0]) / sq, (qq[:, 1] - med) / sq], fmt=mk, color=col, capsize=3,
                     label=f"{T} steps: median exact radius / sqrt(d/k)")
        ax2.plot(x, [r_["averaging_score"] for r_ in sel], mk, color=col, label=f"{T} steps: averaging score")
        ax2.plot(x, [r_["test_accuracy"] for r_ in sel], mk, color=col, alpha=0.4, label=f"{T} steps: clean test accuracy")
    ax1.axhline(1.0, color="black", ls="--", lw=1, label="sqrt(d/k) (C3)")
    ax1.set_xlabel("label noise q")
    ax1.set_ylabel("radius / sqrt(d/k)")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("label noise q")
    ax2.legend(fontsize=7)
    ax2.set_ylim(0, 1.05)
    fig.suptitle("Measured: binary nets trained on labels flipped at rate q (paper setting, reduced engine)")
    data = {"seed": ctx.seed, "points": N, "rows": rows}
    caption = ("Measured finding, not a theorem (the early-phase factor 1 - 2q is V4.label_noise's check). Binary nets at the "
               f"paper's setting, seed {ctx.seed}, labels flipped at rate q, trained for 100 and 400 steps. " + "; ".join(
                   f"q={r_['q']:g}, T={r_['steps']}: radius {fmt(r_['median_radius'] / sq)} sqrt(d/k), averaging "
                   f"{fmt(r_['averaging_score'])}, accuracy {fmt(r_['test_accuracy'])}" for r_ in rows)
               + ". The clean accuracy stays near 1, but the net fits flipped points through their own noise: the "
               "averaging score and the radius fall with q and with training time.")
    return fig, caption, data


TRAINED_FIGURE = Figure("label_noise_trained", "Measured: trained nets under label noise", _trained)
