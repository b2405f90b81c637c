r"""C3.averaging_radius: the minimal L2 perturbation of the idealised averaging network.

Notation (docs/science.md §2, C3): features :math:`\mu_j = \sqrt d\, e_j` (Assumption 3.2),
:math:`p = |J_+|`. The averaging net has neurons :math:`w_+ = \alpha_+\sum_{J_+}\mu_i` (bias
:math:`b_+`) and :math:`w_- = \alpha_-\sum_{J_-}\mu_i` (bias :math:`b_-`), :math:`f = \mathrm{ReLU}(z_+)
- \mathrm{ReLU}(z_-)` (``m`` identical neurons per sign give the same ``f``). For :math:`\mu_j`,
:math:`j \in J_+`: :math:`z_+ = \alpha_+ d + b_+`, :math:`z_- = b_-`; in the orthonormal directions
:math:`e_+ = u_+/\sqrt{pd}`, :math:`e_- = u_-/\sqrt{(k-p)d}`, :math:`z_+(x+\rho) = z_+ + \alpha_+\sqrt{pd}\,r_1`
and :math:`z_-(x+\rho) = z_- + \alpha_-\sqrt{(k-p)d}\,r_2`. The flip region
:math:`\{f \le 0\}` is the union of two half-spaces, and the radius is the smaller KKT cost:

.. math:: r(\mu_j) = \min\Big(\frac{z_+ - z_-}{\|w_+ - w_-\|}, \frac{z_+}{\|w_+\|}\Big),

which is :math:`\sqrt{d/k}` for a balanced net without biases. Tie convention: the prediction
flips when :math:`y f(x+\rho) \le 0`. Each minimal perturbation is found by solving the Lagrange
(KKT) conditions with SymPy, not by writing the answer down.

Evidence: the exact radius (convex QPs, :mod:`featavg.simulate`) of idealised nets against the
formula, and of trained binary nets at the paper's setting against :math:`\sqrt{d/k}`; figures of
the radius against ``d`` and ``k``.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, fit_power_law, mean_interval
from featavg.theory import Claim, ReLU, Step, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._claim import In, SumOver, Text
from featavg.theory._common import d, k, p, sqrt_as_written

ID = "C3.averaging_radius"
ORDER = (3, 0)

# the paper's notation: alpha_+, alpha_- (scales), b_+, b_- (biases); the predictions keep the
# keywords alpha_p, alpha_m, b_p, b_m
alpha_p, alpha_m = sp.symbols("alpha_+ alpha_-", positive=True)
b_p, b_m = sp.symbols("b_+ b_-", real=True)

Z_P = alpha_p * d + b_p
Z_M = b_m
V_P = alpha_p * sp.sqrt(p * d)
V_M = alpha_m * sp.sqrt((k - p) * d)
HYPERPLANE = (Z_P - Z_M) / sp.sqrt(V_P ** 2 + V_M ** 2)  # distance to {z_+ <= z_-}
SWITCH_OFF = Z_P / V_P                                    # distance to {z_+ <= 0}
AVERAGING_RADIUS = sp.Min(HYPERPLANE, SWITCH_OFF)
BALANCED = {p: k / 2, alpha_m: alpha_p, b_p: 0, b_m: 0}


def _same_relation(a, b):
    """True iff the relations ``a`` and ``b`` are the same condition (truth values, or ``x <= y`` forms)."""
    if isinstance(a, sp.logic.boolalg.BooleanAtom) or isinstance(b, sp.logic.boolalg.BooleanAtom):
        return a == b
    if type(a) is not type(b) or not isinstance(a, (sp.LessThan, sp.StrictLessThan, sp.GreaterThan,
                                                     sp.StrictGreaterThan)):
        return False
    return is_zero((a.gts - a.lts) - (b.gts - b.lts))


def _flip_cases(statement):
    """Check ``f <= 0 <=> (z_+ <= 0 or z_+ <= z_-)`` in the three cases that cover the plane:
    ``z_+ <= 0``; ``z_+ > 0 >= z_-``; ``z_+, z_- > 0``. In each, ReLU is the identity or zero
    (``Max(z, 0)`` under the case's sign assumptions), both sides become truth values or linear
    relations, and they must agree."""
    zp, zm = sp.symbols("z_+ z_-", real=True)
    f_side = next(a for a in statement.args if a.has(ReLU))
    other = next(a for a in statement.args if a is not f_side)
    cases = ((sp.Symbol("z_+", nonpositive=True), sp.Symbol("z_-", real=True)),
             (sp.Symbol("z_+", positive=True), sp.Symbol("z_-", nonpositive=True)),
             (sp.Symbol("z_+", positive=True), sp.Symbol("z_-", positive=True)))
    for cp, cm in cases:
        sub = {zp: cp, zm: cm}
        a = f_side.xreplace(sub).replace(lambda e: isinstance(e, ReLU), lambda e: sp.Max(e.args[0], 0))
        b = other.xreplace(sub)
        a, b = sp.simplify(a), sp.simplify(b)
        if isinstance(b, sp.Or):  # a disjunction that did not evaluate: one relation is left
            live = [x for x in b.args if x is not sp.false]
            b = live[0] if len(live) == 1 else b
        if not _same_relation(a, b):
            return False
    return True


def derive():
    """The claim: KKT for each half-space of the flip region, then the balanced case."""
    r1, r2 = sp.symbols("r_1 r_2", real=True)

    def kkt_hyperplane(st):
        c = (Z_P + V_P * r1) - (Z_M + V_M * r2)
        sol, cost2, lam = kkt_min_norm([r1, r2], c)
        dual = is_zero(sol[lam] * (V_P ** 2 + V_M ** 2) / 2 - (Z_P - Z_M))  # lambda >= 0 iff z_+ > z_- at mu_j
        return dual and is_zero(cost2 - st.rhs ** 2)

    def kkt_switch_off(st):
        sol, cost2, lam = kkt_min_norm([r1, r2], Z_P + V_P * r1)
        return is_zero(cost2 - st.rhs ** 2) and sol[r2] == 0

    zp, zm = sp.symbols("z_+ z_-", real=True)
    r_A, r_B = sp.Symbol("r_A"), sp.Symbol("r_B")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()], evaluate=False)
    w_p, w_m, mu_i, mu_j, i_, f = (sp.Symbol(x) for x in ("w_+", "w_-", "mu_i", "mu_j", "i", "f"))
    J_p, J_m = sp.Symbol("J_+"), sp.Symbol("J_-")
    span = Text(" (in the span of ", w_p, " and ", w_m, ": a component orthogonal to both changes neither ",
                zp, " nor ", zm, " and only adds to the norm)")
    steps = (
        Step(Text(sp.Le(f, 0, evaluate=False), " exactly on the union of two half-spaces (three sign cases of ",
                  zp, " and ", zm, ", ties included)"),
             sp.Equivalent(sp.Le(ReLU(zp) - ReLU(zm), 0, evaluate=False),
                           sp.Or(sp.Le(zp, 0, evaluate=False), sp.Le(zp, zm, evaluate=False), evaluate=False),
                           evaluate=False),
             _flip_cases),
        Step(Text("KKT for the half-space ", sp.Le(zp, zm, evaluate=False), span,
                  "; its multiplier is positive when ", sp.Gt(zp, zm, evaluate=False), " at ", mu_j),
             sp.Eq(r_A, HYPERPLANE), kkt_hyperplane),
        Step(Text("KKT for the half-space ", sp.Le(zp, 0, evaluate=False), span),
             sp.Eq(r_B, SWITCH_OFF), kkt_switch_off),
        Step(Text("balanced net (", sp.Eq(p, k / 2, evaluate=False), ", ", sp.Eq(alpha_p, alpha_m, evaluate=False),
                  ", no biases): the hyperplane is ", sqrt_as_written(d / k), " away"),
             sp.Implies(balanced, sp.Eq(r_A, sqrt_as_written(d / k), evaluate=False), evaluate=False),
             lambda st: is_zero(HYPERPLANE.subs(BALANCED) - st.args[1].rhs)),
        Step(Text("balanced net: switching the neuron off costs ", sp.sqrt(2), " times more, so the radius is ",
                  sqrt_as_written(d / k)),
             sp.Implies(balanced, sp.Eq(r_B / r_A, sp.sqrt(2), evaluate=False), evaluate=False),
             lambda st: is_zero(sp.simplify(SWITCH_OFF.subs(BALANCED) / HYPERPLANE.subs(BALANCED)) - st.args[1].rhs)),
    )
    bal = sp.simplify(HYPERPLANE.subs(BALANCED))
    args = [d, k, p, alpha_p, alpha_m, b_p, b_m]
    preds = {
        "radius": lambdify_prediction(args, AVERAGING_RADIUS,
                                      "minimal L2 perturbation of mu_j, j in J+, for the averaging net with "
                                      "neurons w_+ = alpha_+ sum_{J+} mu_i, bias b_+, w_- = alpha_- sum_{J-} mu_i, "
                                      "bias b_-, p = |J+| (for j in J-, swap the roles of + and -); keywords "
                                      "alpha_p, alpha_m, b_p, b_m"),
        "hyperplane": lambdify_prediction(args, HYPERPLANE, "(z_+ - z_-)/||w_+ - w_-||"),
        "switch_off": lambdify_prediction(args, SWITCH_OFF, "z_+/||w_+||"),
        "radius_balanced": lambdify_prediction([d, k], bal, "sqrt(d/k)"),
    }
    return Claim(
        id=ID, title="Minimal Euclidean perturbation of the idealised averaging network",
        statement=sp.Eq(notation("r")(mu_j), AVERAGING_RADIUS),
        assumptions=Text("Orthogonal equinorm features; perfectly averaged neurons ",
                         sp.Eq(w_p, alpha_p * SumOver(mu_i, i_, J_p), evaluate=False), " and ",
                         sp.Eq(w_m, alpha_m * SumOver(mu_i, i_, J_m), evaluate=False), " with biases ", b_p, " and ",
                         b_m, "; a point ", mu_j, " with ", In(sp.Symbol("j"), J_p),
                         " and ", sp.Gt(zp, sp.Max(0, zm), evaluate=False), " there; ", sp.Eq(p, sp.Abs(J_p),
                                                                                           evaluate=False), "."),
        regime=Text("noise-free point (the noise correction, of order ", notation("O")(1), ", is C3.noise_correction)"),
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: relative accuracy of an exact radius: Clarabel's duality gap and feasibility tolerances are 1e-10
#: (featavg.simulate._robust), so a radius is exact to about 1e-10 relative; stated with a factor 10
#: for the scaling of the problem data (entries of order d)
RADIUS_RTOL = 1e-9


def _sizes(ctx):
    """(seeds, test points per seed) of the trained-net measurement."""
    return (6, 30) if ctx.quick else (12, 50)


def _measure_trained(ctx):
    R, N = _sizes(ctx)
    runs = ctx.paper_runs("binary", R)
    cfg = runs[0].config
    medians = [float(np.median(ctx.radii(run, points=N))) for run in runs]
    m, se, hw = mean_interval(medians)
    radius = ctx.prediction(ID, "radius_balanced")
    predicted = float(radius(cfg.d, cfg.k))
    band = Band(predicted, (
        Term(f"t({R - 1} dof) x standard error of the mean of {R} seed medians ({N} test points each)", hw, "stat"),
        Term("CALIBRATED: finite-n and imbalance corrections, 2% of sqrt(d/k) (to be derived)", 0.02 * predicted),
    ))
    return Outcome(predicted, m, band, interval=(m - hw, m + hw), seeds=[r.config.seed for r in runs],
                   rivals={"sqrt(d/(k-1))": float(radius(cfg.d, cfg.k - 1)),
                           "sqrt(d/(k+1))": float(radius(cfg.d, cfg.k + 1)),
                           "sqrt(d/2) (decoupled optimum)": float(np.sqrt(cfg.d / 2))},
                   details={"per_seed_median": medians, "points_per_seed": N}, config={"run": cfg.to_dict()})


TRAINED = Check(
    "C3.averaging_radius", "Trained binary net: median exact radius vs sqrt(d/k)",
    "binary labels, paper setting (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5), reduced engine; "
    "exact radii (QP) of test points, several independent seeds", _measure_trained,
    rivals=(Rival("sqrt(d/(k-1))", "a constant off by one in k"), Rival("sqrt(d/(k+1))", "a constant off by one in k"),
            Rival("sqrt(d/2) (decoupled optimum)", "the radius of a decoupled (robust) network")),
    faults=("closed_form", "decouple"))

#: (p, alpha_+, alpha_-, b_+/d, b_-/d): unbalanced, unequal scales, biases; the last case makes
#: switching the own group off the cheapest attack
_IDEAL_CASES = ((5, 1.0, 1.0, 0.0, 0.0), (3, 1.3, 0.7, 0.2, -0.1), (7, 0.8, 1.5, -0.3, 0.4), (4, 1.0, 1.0, -0.9, 0.0))


def _measure_ideal(ctx):
    from featavg.simulate import averaging_net, make_features, make_partition

    kk, dd = 10, 400
    feats = make_features(kk, dd, ctx.rng(31))
    radius = ctx.prediction(ID, "radius")
    hyper = ctx.prediction(ID, "hyperplane")
    balanced = ctx.prediction(ID, "radius_balanced")
    meas, pred, rival_h, rival_b, cases = [], [], [], [], []
    for pp, ap, am, bp, bm in _IDEAL_CASES:
        labels = make_partition(kk, pp)
        net = averaging_net(feats, labels, ap, am, bp * dd, bm * dd)
        jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
        meas += ctx.net_radii(net, feats[[jp, jm]], np.array([1, -1])).tolist()
        args = [(dd, kk, pp, ap, am, bp * dd, bm * dd), (dd, kk, kk - pp, am, ap, bm * dd, bp * dd)]
        pred += [float(radius(*a)) for a in args]
        rival_h += [float(hyper(*a)) for a in args]
        rival_b += [float(balanced(dd, kk))] * 2
        cases.append({"p": pp, "alpha": [ap, am], "b_over_d": [bp, bm]})
    pred = np.array(pred)
    band = Band(pred, (Term(f"exact radius to {RADIUS_RTOL:g} relative (QP gap and feasibility 1e-10)",
                            RADIUS_RTOL * np.abs(pred)),))
    return Outcome(pred, np.array(meas), band,
                   rivals={"hyperplane branch only": np.array(rival_h), "balanced sqrt(d/k)": np.array(rival_b)},
                   details={"cases": cases, "max_relative_error": float(np.max(np.abs(np.array(meas) - pred) / pred))},
                   config={"k": kk, "d": dd})


IDEAL = Check(
    "C3.averaging_radius.ideal",
    "Idealised averaging net (unbalanced, unequal scales, biases): exact radius at mu_j = formula",
    "noise-free points mu_j (one of J+, one of J-), k=10, d=400, one neuron per sign; four nets", _measure_ideal,
    rivals=(Rival("hyperplane branch only", "the switch-off branch of the minimum forgotten"),
            Rival("balanced sqrt(d/k)", "the balanced formula applied to unbalanced, biased nets")),
    faults=("closed_form", "radius"))


# ---- figures: the radius against d and against k --------------------------------------------------

#: the products kept fixed when d grows: eta d and sigma_w d of the paper's setting times 10 and
#: 1 (eta d = 30.72 and sigma_w d = 3.072e-2), which keeps the first step's size relative to the
#: initial weights, hence the early phase, the same at every d (measured: averaging score 0.992
#: to 0.994 from d = 3162 to 1e7; sigma_w ~ d^-1/2 instead gives 0.976 at 1e7 and 0.845 at 1e8)
ETA_D = 30.72
INIT_D = 3.072e-2


def radius_sweep(ctx, salt, ks_ds, make_config):
    """Median exact radius (and averaging score) of a binary run at each point of a sweep."""
    from featavg.simulate import averaging_score

    rows = []
    for i, (k, d) in enumerate(ks_ds):
        seed = ctx.child_seed(salt, i)
        run = ctx.run(make_config(k, d, seed))
        r = ctx.radii(run)
        rows.append({"k": k, "d": d, "seed": seed, "median_radius": float(np.median(r)),
                     "quartiles": np.quantile(r, [0.25, 0.75]).tolist(),
                     "averaging_score": averaging_score(run.network, run.features, run.cluster_labels),
                     "predicted": float(ctx.prediction(ID, "radius_balanced")(d, k)),
                     "predicted_score": float(ctx.claim("C1.feature_averaging").predictions["cos_class_sum"](
                         np.sqrt(k / run.config.n)))})
    return rows

def plot_sweep(ax, xs, rows, fit, xlabel, predicted_label):
    from matplotlib.ticker import FuncFormatter

    from featavg._figures import BLUE

    med = np.array([r["median_radius"] for r in rows])
    q = np.array([r["quartiles"] for r in rows])
    pred = np.array([r["predicted"] for r in rows])
    ax.errorbar(xs, med, yerr=[med - q[:, 0], q[:, 1] - med], fmt="o", color=BLUE, capsize=3,
                label="median exact radius (bars: quartiles)")
    grid = np.geomspace(min(xs), max(xs), 100)
    lo, hi = fit["ci"]
    ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], color=BLUE, lw=1,
            label=f"fit: slope {fit['slope']:.4f} [{lo:.4f}, {hi:.4f}]")
    ax.plot(xs, pred, color="black", ls="--", lw=1.2, label=predicted_label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    if q.max() / q.min() < 10:  # less than a decade: label the minor ticks too
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"exact $\ell_2$ radius")
    ax.legend(fontsize=8)

def score_panel(ax, xs, rows, xlabel):
    from featavg._figures import BLUE

    ax.plot(xs, [r["averaging_score"] for r in rows], "o-", color=BLUE, label="measured")
    ax.plot(xs, [r["predicted_score"] for r in rows], color="black", ls="--", lw=1,
            label="1/sqrt(1 + k/n) (C1.feature_averaging)")
    ax.set_xscale("log")
    ax.set_ylim(0.9, 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("averaging score")
    ax.set_title("Averaging holds at every point")
    ax.legend(fontsize=8, loc="lower left")

def _radius_vs_d(ctx):
    from featavg._figures import fit_text, new_figure
    from featavg._output import fmt
    from featavg.simulate import Config

    k, m, steps = 10, 5, 100
    n = 500 if ctx.quick else 1000
    n_test = 12 if ctx.quick else 40
    exps = np.linspace(3.5, 7.0, 4 if ctx.quick else 8)
    ds = [int(round(10 ** e)) for e in exps]

    def config(k, d, seed):
        return Config(k=k, d=d, n=n, n_test=n_test, m=m, eta=ETA_D / d, init_scale=INIT_D / d, steps=steps,
                      engine="reduced", seed=seed)

    rows = radius_sweep(ctx, 5, [(k, d) for d in ds], config)
    fit = fit_power_law(ds, [r["median_radius"] for r in rows])
    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    plot_sweep(ax, ds, rows, fit, "dimension d", r"$\sqrt{d/k}$ (C3.averaging_radius), slope 1/2")
    ax.set_title(f"Binary net, k={k}, n={n}, {n_test} test points per d")
    score_panel(ax2, ds, rows, "dimension d")
    fig.suptitle(r"The averaging radius grows like $\sqrt{d}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "k": k, "n": n, "m": m, "steps": steps, "eta_times_d": ETA_D,
            "init_scale_times_d": INIT_D, "test_points": n_test, "points": rows,
            "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"], "intercept": fit["intercept"],
            "predicted_slope": 0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each d (k={k}, n={n}, m={m}, "
               f"{steps} steps, eta = {ETA_D:g}/d, init {INIT_D:g}/d, seeds from SeedSequence([{ctx.seed}, 5, i]), "
               f"reduced engine; d = {ds[0]} to {ds[-1]}). Fitted log-log slope {fit_text(fit)} against 1/2; "
               f"median / sqrt(d/k) between {fmt(min(ratios))} and {fmt(max(ratios))}; averaging score at least "
               f"{fmt(min(r['averaging_score'] for r in rows))} at every d.")
    return fig, caption, data

def _radius_vs_k(ctx):
    from matplotlib.ticker import NullLocator

    from featavg._figures import fit_text, new_figure
    from featavg._output import fmt
    from featavg.simulate import Config

    d, m, steps = 10 ** 5, 5, 100
    ks = [2, 6, 10, 20] if ctx.quick else [2, 4, 6, 8, 10, 14, 20]
    n_test = 12 if ctx.quick else 40
    per_cluster = 50  # n = max(500, 50 k): every cluster holds about 50 training points or more

    def config(k, d, seed):
        # eta C = eta (d + k/2)/(m k) is kept at the paper's 0.06 for every k: eta = 3.072 k / d
        return Config(k=k, d=d, n=max(500, per_cluster * k), n_test=n_test, m=m, positive=k // 2,
                      eta=ETA_D * k / (10 * d), init_scale=INIT_D / d, steps=steps, engine="reduced", seed=seed)

    rows = radius_sweep(ctx, 6, [(k, d) for k in ks], config)
    fit = fit_power_law(ks, [r["median_radius"] for r in rows])
    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    plot_sweep(ax, ks, rows, fit, "number of clusters k", r"$\sqrt{d/k}$ (C3.averaging_radius), slope -1/2")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"Binary net, d=1e5, n=max(500, 50k), {n_test} test points per k")
    score_panel(ax2, ks, rows, "number of clusters k")
    ax2.set_xticks(ks, [str(k) for k in ks])
    ax2.xaxis.set_minor_locator(NullLocator())
    fig.suptitle(r"The averaging radius shrinks like $1/\sqrt{k}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "d": d, "m": m, "steps": steps, "n_per_cluster": per_cluster, "test_points": n_test,
            "points": rows, "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"],
            "intercept": fit["intercept"], "predicted_slope": -0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each k (d=1e5, "
               f"n = max(500, 50k), |J+| = k/2, m={m}, {steps} steps, eta = 3.072k/d, init {INIT_D:g}/d, seeds from "
               f"SeedSequence([{ctx.seed}, 6, i]), reduced engine; k = {', '.join(map(str, ks))}). Fitted log-log "
               f"slope {fit_text(fit)} against -1/2; median / sqrt(d/k) between {fmt(min(ratios))} and "
               f"{fmt(max(ratios))}; averaging score at least {fmt(min(r['averaging_score'] for r in rows))}.")
    return fig, caption, data

RADIUS_VS_D = Figure("radius_vs_d", "Averaging radius vs dimension d (slope 1/2)", _radius_vs_d)
RADIUS_VS_K = Figure("radius_vs_k", "Averaging radius vs number of clusters k (slope -1/2)", _radius_vs_k)
