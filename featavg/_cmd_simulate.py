"""``featavg simulate``: one run of the paper's synthetic experiment (docs/science.md §1)."""

import sys

import numpy as np

from featavg._output import print_json
from featavg._progress import progress_bar
from featavg.simulate import (ACTIVATIONS, COHERENCE_KINDS, ENGINES, FEATURE_BASES, PAPER_D, PAPER_ETA, PAPER_INIT_SCALE,
                              READOUTS, RELU_P_DEFAULTS, SUPERVISIONS, Config, reduced_dimension, run_simulation,
                              save_run)

NAME = "simulate"
HELP = "Train one network by gradient descent on multi-cluster data and measure it."

_DEFAULTS = Config()


def add_config_arguments(p):
    """The run parameters, shared by every subcommand that makes a run."""
    d = _DEFAULTS
    p.add_argument("--k", type=int, default=d.k, help="number of clusters, 2 <= k <= d (default %(default)s)")
    p.add_argument("--d", type=int, default=d.d, help="dimension (default %(default)s)")
    p.add_argument("--n", type=int, default=d.n, help="training points (default %(default)s)")
    p.add_argument("--n-test", type=int, default=d.n_test, help="test points (default %(default)s)")
    p.add_argument("--m", type=int, default=d.m, help="neurons per sign of the binary network (default %(default)s)")
    p.add_argument("--h", type=int, default=d.h, help="neurons per output of the multi-class network (default %(default)s)")
    p.add_argument("--positive", type=int, default=None, help="|J+|, 1..k-1 (default k // 2)")
    p.add_argument("--sigma", type=float, default=d.sigma, help="noise scale (default %(default)s)")
    p.add_argument("--eta", type=float, default=None,
                   help=f"learning rate (default 1e-3 * {PAPER_D}/d, i.e. eta*d = {PAPER_ETA * PAPER_D:g}: "
                        f"the paper's 1e-3 at d = {PAPER_D}, scaled so that the per-step dynamics do not "
                        f"depend on d; relu_p: {RELU_P_DEFAULTS['eta']} * {PAPER_D}/d; the value used is recorded in the output)")
    p.add_argument("--steps", type=int, default=d.steps, help="GD steps (default %(default)s)")
    p.add_argument("--init-scale", type=float, default=None,
                   help=f"std of initial weights and biases (default 1e-5 * {PAPER_D}/d, i.e. init*d = "
                        f"{PAPER_INIT_SCALE * PAPER_D:g}: the paper's 1e-5 at d = {PAPER_D}; relu_p: "
                        f"{RELU_P_DEFAULTS['init_scale']} * {PAPER_D}/d; recorded in the output)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--supervision", choices=SUPERVISIONS, default=d.supervision,
                   help="binary labels (binary net) or cluster labels (multi-class net)")
    p.add_argument("--readout", choices=READOUTS, default=d.readout,
                   help="binary prediction of the multi-class net (default %(default)s)")
    p.add_argument("--engine", choices=ENGINES, default=d.engine, help="simulation engine (default %(default)s)")
    p.add_argument("--features", choices=FEATURE_BASES, default=d.features,
                   help="feature directions (explicit engine): haar = generic (Haar-random rotation), "
                        "standard = coordinate axes mu_j = sqrt(d) e_j (matters for L-infinity radii only); "
                        "default %(default)s")
    p.add_argument("--history-every", type=int, default=d.history_every,
                   help="record the training history every S steps (0: none)")
    p.add_argument("--activation", choices=ACTIVATIONS, default=d.activation,
                   help="hidden activation: relu, leaky_relu (slope a) or relu_p (ReLU^p, power p); "
                        "default %(default)s")
    p.add_argument("--activation-param", type=float, default=d.activation_param, metavar="A",
                   help="the slope a of leaky_relu (0 <= a < 1) or the power p of relu_p (p >= 1); none for relu")
    g = p.add_argument_group("data variants (issue 18; off by default)")
    g.add_argument("--coherence", type=float, default=d.coherence,
                   help="mutual coherence eps of the features (default %(default)s: orthogonal)")
    g.add_argument("--coherence-kind", choices=COHERENCE_KINDS, default=d.coherence_kind,
                   help="C = (1-eps) I + eps 11^T, or random off-diagonal entries in [-eps, eps] (default %(default)s)")
    g.add_argument("--feature-norms", type=float, nargs="+", default=None, metavar="R",
                   help="k numbers r_j: ||mu_j|| = sqrt(d) r_j (default: all 1)")
    g.add_argument("--label-noise", type=float, default=d.label_noise,
                   help="flip each training label with probability q, 0 <= q < 1/2 (default %(default)s)")


def config_from_args(args):
    # eta and init_scale not given (None): Config resolves them, scaled with d, with the activation's
    # own values where it has them (relu_p, featavg.simulate.RELU_P_DEFAULTS)
    return Config(k=args.k, d=args.d, n=args.n, n_test=args.n_test, m=args.m, h=args.h,
                  positive=args.positive, sigma=args.sigma, eta=args.eta, steps=args.steps,
                  init_scale=args.init_scale, seed=args.seed, supervision=args.supervision,
                  readout=args.readout, engine=args.engine, history_every=args.history_every,
                  features=args.features, coherence=args.coherence, coherence_kind=args.coherence_kind,
                  feature_norms=None if args.feature_norms is None else tuple(args.feature_norms),
                  label_noise=args.label_noise, activation=args.activation, activation_param=args.activation_param)


def add_arguments(p):
    add_config_arguments(p)
    p.add_argument("--save", metavar="RUN.npz", help="write the run's arrays and config here")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")


def _scaled(args, name):
    """`` (default: scaled with d)`` when ``--NAME`` was not given."""
    return " (default, scaled with d)" if getattr(args, name, 0) is None else ""


def print_warnings(warnings, file=None):
    """One line per regime warning (:attr:`featavg.simulate.Run.warnings`)."""
    w = (file or sys.stderr).write
    for x in warnings:
        w(f"featavg: warning [{x['quantity']}]: {x['message']} (regime: {x['regime']})\n")


def _print_summary(s, file=None, args=None):
    cfg = s["config"]
    w = (file or sys.stdout).write
    w(f"featavg simulate: {cfg['supervision']} supervision, {s['network']} network, engine {cfg['engine']}\n")
    w(f"  k={cfg['k']} d={cfg['d']} n={cfg['n']} m={cfg['m']} h={cfg['h']} |J+|={cfg['positive']} "
      f"sigma={cfg['sigma']} eta={cfg['eta']:g}{_scaled(args, 'eta')} steps={cfg['steps']} "
      f"init={cfg['init_scale']:g}{_scaled(args, 'init_scale')} seed={cfg['seed']}\n")
    act = cfg.get("activation", "relu")
    if act != "relu":
        w(f"  activation {act} with parameter {cfg.get('activation_param')}\n")
    readout = f" (readout {cfg['readout']})" if s["network"] == "multiclass" else ""
    w(f"  train accuracy {s['train_accuracy']:.4f}   test accuracy {s['test_accuracy']:.4f}{readout}\n")
    w(f"  final loss {s['final_loss']:.6g}   GD wall time {s['seconds']:.2f} s\n")
    w(f"  averaging score  {s['averaging_score']:.4f}   (mean cos of each neuron with its class-average feature)\n")
    w(f"  decoupling score {s['decoupling_score']:.4f}   (mean cos of each neuron with its own / best feature)\n")
    C = np.asarray(s["cosine_matrix"])
    w("  cosine matrix cos(w_r, mu_j) (rows: neurons, columns: clusters; "
      + ("first m rows are the + neurons" if s["network"] == "binary" else "row j is output j") + "):\n")
    w("        " + " ".join(f"{j:>6d}" for j in range(C.shape[1])) + "\n")
    for r, row in enumerate(C):
        w(f"  {r:>5d} " + " ".join(f"{v:6.3f}" for v in row) + "\n")
    if s.get("warnings"):
        w(f"  {len(s['warnings'])} regime warning(s) (on stderr): "
          + ", ".join(x["quantity"] for x in s["warnings"]) + "\n")


def run(args):
    cfg = config_from_args(args)
    # the work per step is n times the working dimension: d, or k + n + M for the reduced engine
    dim = min(cfg.d, reduced_dimension(cfg.k, cfg.n, cfg.neurons)) if cfg.engine == "reduced" else cfg.d
    with progress_bar(cfg.steps, "gradient descent", enabled=cfg.steps * cfg.n * dim > 5e8) as update:
        result = run_simulation(cfg, progress=update)
    summary = result.summary()
    if args.save:
        save_run(args.save, result)
        summary["saved"] = args.save
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary, args=args)
        if args.save:
            print(f"  saved to {args.save}")
    print_warnings(summary["warnings"])
    return 0
