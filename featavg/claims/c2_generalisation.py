r"""C2.generalisation: the averaging net's clean error is Phi(-sqrt(d/k)): test accuracy tends to 1.

For the balanced averaging net (C3; equal scales, no biases) and a point :math:`x = \mu_j + \xi`,
:math:`j \in J_+`, the prediction is wrong iff :math:`z_+ \le z_-` or :math:`z_+ \le 0`. Since
:math:`z_+ - z_- = \alpha(d + \langle u_+ - u_-, \xi\rangle)` with :math:`\langle u_+ - u_-,
\xi\rangle \sim N(0, k d)`, the first event has probability :math:`\Phi(-\sqrt{d/k})`; the second,
:math:`\Phi(-\sqrt{d/p})`, is smaller (``p < k``), so the error lies between
:math:`\Phi(-\sqrt{d/k})` and twice it. At the paper's setting that is about :math:`10^{-68}`: any
error of a trained net is the network's, not the data's.

Evidence: the error rate of the idealised net at a small ``d`` where it is measurable, against
the formula; and the trained nets' clean test accuracy at the paper's setting.
"""

import numpy as np
import sympy as sp
import sympy.stats as sst

from featavg.evidence import Band, Check, Outcome, Rival, Term, clopper_pearson, quantile
from featavg.theory import Claim, Inner, Norm, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Text
from featavg.theory._common import Phi, d, evaluate_sums, k, p, sqrt_as_written

ID = "C2.generalisation"
ORDER = (2, 0)


def derive():
    """The claim: the hyperplane's error probability, and the union bound with the switch-off event."""
    i, l = sp.symbols("i l", positive=True, integer=True)
    c = sp.IndexedBase("c", real=True)  # u_+ - u_- = sum_i c_i mu_i, c_i = +1 on J_+, -1 on J_-
    gram = sp.Sum(sp.Sum(c[i] * c[l] * d * sp.KroneckerDelta(i, l), (i, 1, k)), (l, 1, k))
    sign_squares = {c[l] ** 2: 1}
    Z = sst.Normal("Z", 0, 1)
    u_p, u_m, xi = sp.Symbol("u_+"), sp.Symbol("u_-"), sp.Symbol("xi")
    z_p, z_m = sp.Symbol("z_+"), sp.Symbol("z_-")
    P = notation("P")
    hyper = Phi(-sqrt_as_written(d / k))
    switch = Phi(-sqrt_as_written(d / p))

    def probability(scale):
        """P(d + scale Z <= 0) for Z ~ N(0, 1): the event z_+ <= z_- (scale^2 = ||u_+ - u_-||^2) or z_+ <= 0."""
        return sst.P(d + scale * Z <= 0)

    def F(x):
        return Phi(-sp.sqrt(d / x))

    def rarer(st):
        concl = st.args[1]
        return (isinstance(concl, (sp.LessThan, sp.StrictLessThan)) and is_zero(concl.lhs - F(p))
                and is_zero(concl.rhs - F(k)) and bool(sp.simplify(sp.diff(F(p), p)).is_positive))

    statement = sp.And(sp.Le(hyper, P(sp.Symbol("error")), evaluate=False),
                       sp.Le(P(sp.Symbol("error")), hyper + switch, evaluate=False), evaluate=False)
    steps = (
        Step(Text(u_p - u_m, " has coefficients ", 1, " on ", sp.Symbol("J_+"), " and ", -1, " on ", sp.Symbol("J_-"),
                  ": its squared norm is ", k * d, " for every ", k),
             sp.Eq(Norm(u_p - u_m) ** 2, k * d, evaluate=False),
             lambda st: is_zero(evaluate_sums(gram, [(l, 1, k)]).xreplace(sign_squares).doit() - st.rhs)),
        Step(Text("at ", sp.Symbol("mu_j") + xi, ", ", sp.Symbol("j"), " in ", sp.Symbol("J_+"), ": ",
                  sp.Eq(z_p - z_m, sp.Symbol("alpha") * (d + Inner(u_p - u_m, xi)), evaluate=False),
                  " with a Gaussian of variance ", k * d, ", so the hyperplane errs with probability ",
                  hyper),
             sp.Eq(P(sp.Le(z_p, z_m, evaluate=False)), hyper, evaluate=False),
             lambda st: is_zero(probability(sp.sqrt(k * d)) - st.rhs)),
        Step(Text("the switch-off event ", sp.Le(z_p, 0, evaluate=False), " (variance ", p * d, ")"),
             sp.Eq(P(sp.Le(z_p, 0, evaluate=False)), switch, evaluate=False),
             lambda st: is_zero(probability(sp.sqrt(p * d)) - st.rhs)),
        Step(Text("since ", sp.Lt(p, k, evaluate=False), ", the switch-off event is the rarer one (",
                  switch, " increases in ", p, ")"),
             sp.Implies(sp.Lt(p, k, evaluate=False), sp.Le(switch, hyper, evaluate=False), evaluate=False), rarer),
    )
    preds = {"error_hyperplane": lambdify_prediction([d, k], hyper, "Phi(-sqrt(d/k))"),
             "error_upper": lambdify_prediction([d, k, p], hyper + switch, "Phi(-sqrt(d/k)) + Phi(-sqrt(d/p)), p = |J_y|")}
    return Claim(id=ID, title=Text("Generalisation: the averaging net's clean error is ", Phi(-sqrt_as_written(d / k))),
                 statement=statement,
                 assumptions=Text("Balanced averaging net (equal scales, no biases); noise ", xi, " drawn from ",
                                  notation("N")(0, sp.Symbol("I_d")), "; a point of class +."),
                 regime=Text("any ", d), steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure_ideal(ctx):
    from featavg.simulate import averaging_net, make_features, make_partition, sample_mixture

    kk, dd = 10, 40  # sqrt(d/k) = 2: an error rate of about 2.3%, measurable
    n = 20000 if ctx.quick else 100000
    rng = ctx.rng(21)
    feats = make_features(kk, dd, rng)
    labels = make_partition(kk)
    net = averaging_net(feats, labels)
    test = sample_mixture(feats, labels, n, rng)
    errors = int(np.sum(test.y * net.output(test.X) <= 0))
    lo_p = float(ctx.prediction(ID, "error_hyperplane")(dd, kk))
    hi_p = float(ctx.prediction(ID, "error_upper")(dd, kk, kk // 2))
    rate = errors / n
    z = quantile()
    se = np.sqrt(lo_p * (1 - lo_p) / n)
    band = Band(lo_p, (Term(f"z = {z:.3g} x binomial standard error sqrt(P(1-P)/n), n = {n}", z * se, "stat"),
                       Term("the switch-off event Phi(-sqrt(d/p)) of the union bound", hi_p - lo_p)), limits=(0, 1))
    lo, hi = clopper_pearson(errors, n)
    return Outcome(lo_p, rate, band, interval=(lo, hi), seeds=[ctx.seed],
                   rivals={"Phi(-sqrt(d/(2k)))": float(ctx.prediction(ID, "error_hyperplane")(dd, 2 * kk)),
                           "Phi(-sqrt(d/(k+1)))": float(ctx.prediction(ID, "error_hyperplane")(dd, kk + 1)),
                           "Phi(-sqrt(d/(k-1)))": float(ctx.prediction(ID, "error_hyperplane")(dd, kk - 1))},
                   details={"errors": errors, "points": n}, config={"k": kk, "d": dd, "sigma": 1.0})


IDEAL = Check(
    "C2.generalisation.ideal", "Idealised averaging net at d = 40: clean error rate = Phi(-sqrt(d/k))",
    "balanced averaging net, k=10, d=40 (sqrt(d/k) = 2), 1e5 fresh test points (quick 2e4)", _measure_ideal,
    rivals=(Rival("Phi(-sqrt(d/(2k)))", "a variance counted twice"),
            Rival("Phi(-sqrt(d/(k+1)))", "a constant off by one in k"),
            Rival("Phi(-sqrt(d/(k-1)))", "a constant off by one in k")),
    faults=("closed_form",))


def _measure_trained(ctx):
    R = 4 if ctx.quick else 8
    errors = points = 0
    seeds = []
    for sup in ("binary", "cluster"):
        for run in ctx.paper_runs(sup, R):
            readouts = ("argmax", "sum") if sup == "cluster" else (None,)
            for ro in readouts:
                score = run.binary_score(run.test.X, ro)
                errors += int(np.sum(run.test.y * score <= 0))
                points += run.test.y.size
            seeds.append(run.config.seed)
    rate = errors / points
    lo, hi = clopper_pearson(errors, points, side="upper")
    cfg = ctx.paper_config("binary")
    pred = float(ctx.prediction(ID, "error_upper")(cfg.d, cfg.k, cfg.positive))
    band = Band(pred, (Term(f"one-sided Clopper-Pearson upper bound of {errors} errors in {points} predictions",
                            hi, "bound"),), limits=(0, 1))
    return Outcome(pred, rate, band, interval=(lo, hi), seeds=sorted(set(seeds)),
                   rivals={"1% error": 0.01, "chance (50% error)": 0.5},
                   details={"errors": errors, "predictions": points}, config={"run": cfg.to_dict()})


TRAINED = Check(
    "C2.generalisation.trained", "Trained nets' clean test error (binary net; multi-class net, both readouts) ~ Phi(-sqrt(d/k))",
    "paper setting, binary and cluster labels, reduced engine, several seeds, 200 test points each",
    _measure_trained, rivals=(Rival("1% error", "a net that generalises only to 99%"),
                              Rival("chance (50% error)", "an untrained net")),
    faults=("untrained",))
