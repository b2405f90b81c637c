"""``featavg digits``: feature averaging on scikit-learn's 8x8 handwritten digits, offline (issue 19).

Parity labels (binary net) against the 10 digit labels (multi-class net, argmax and sum readouts),
trained by the synthetic experiment's gradient descent; cosines with the centred digit means,
averaging and decoupling scores, exact and PGD radii, robust-accuracy curves
(:mod:`featavg._digits`). Needs the extra ``featavg[data]`` (scikit-learn, which ships the images).
"""

import sys

from featavg._args import nonnegative_int, positive_float, positive_int
from featavg._digits import DATASETS, DigitsConfig, run_digits
from featavg._output import print_json

NAME = "digits"
HELP = ("Parity vs 10-class supervision on scikit-learn's 8x8 digits (no download): accuracies, "
        "cosines, averaging/decoupling scores, exact and PGD radii.")

_D = DigitsConfig()


def add_arguments(p):
    p.add_argument("--dataset", choices=DATASETS, default=_D.dataset,
                   help="data set (default %(default)s; no installable package ships MNIST itself)")
    p.add_argument("--seed", type=nonnegative_int, default=_D.seed,
                   help="seed of split, inits and PGD (default %(default)s)")
    p.add_argument("--test-fraction", type=positive_float, default=_D.test_fraction,
                   help="fraction of each digit held out (default %(default)s)")
    p.add_argument("--images", type=positive_int, default=None,
                   help="use a stratified random subset of N images (default: all 1797)")
    p.add_argument("--m", type=positive_int, default=_D.m,
                   help="neurons per sign of the binary net; exact radii cost 2^m QPs per point (default %(default)s)")
    p.add_argument("--h", type=positive_int, default=_D.h,
                   help="neurons per output of the 10-class net; the sum readout costs 2^(5h) QPs per point "
                        "(default %(default)s)")
    p.add_argument("--eta", type=positive_float, default=_D.eta, help="learning rate (default %(default)s)")
    p.add_argument("--steps", type=nonnegative_int, default=_D.steps, help="GD steps per net (default %(default)s)")
    p.add_argument("--init-scale", type=float, default=_D.init_scale,
                   help="std of initial weights and biases (default %(default)s)")
    p.add_argument("--points", type=positive_int, default=None,
                   help="test points whose radii are computed (default: every test point)")
    p.add_argument("--pgd-steps", type=positive_int, default=_D.pgd_steps, help="PGD steps (default %(default)s)")
    p.add_argument("--pgd-restarts", type=positive_int, default=_D.pgd_restarts,
                   help="PGD random restarts (default %(default)s)")
    p.add_argument("--linf-points", type=nonnegative_int, default=_D.linf_points,
                   help="L-infinity radii of the first N radius points, 0 for none (about 15 times the cost "
                        "of L2 here; default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object (with the seed) instead of a summary")


def config_from_args(args):
    return DigitsConfig(dataset=args.dataset, seed=args.seed, test_fraction=args.test_fraction, images=args.images,
                        m=args.m, h=args.h, eta=args.eta, steps=args.steps, init_scale=args.init_scale,
                        points=args.points, pgd_steps=args.pgd_steps, pgd_restarts=args.pgd_restarts,
                        linf_points=args.linf_points)


def public(result):
    """The result without its private objects (networks, split): what ``--json`` prints."""
    return {k: v for k, v in result.items() if not k.startswith("_")}


def _f(x):
    return "-" if x is None else f"{x:.4f}"


def _print_summary(s, file=None):
    w = (file or sys.stdout).write
    c, data = s["config"], s["data"]
    w(f"featavg digits: {data['images']} images ({data['n_train']} train, {data['n_test']} test), seed {s['seed']}, "
      f"m={c['m']}, h={c['h']}, eta={c['eta']:g}, {c['steps']} GD steps, init {c['init_scale']:g}\n")
    p, t = s["parity"], s["ten_class"]
    w(f"  10-class net: 10-way test accuracy {t['test_accuracy_10way']:.4f}\n")
    w("  net                 test acc  avg score  dec score  median L2 exact [gap]  PGD/exact  median Linf\n")
    rows = (("parity (binary)", p["test_accuracy"], p, p["radii"]),
            ("10-class, argmax", t["readouts"]["argmax"]["test_accuracy"], t, t["readouts"]["argmax"]["radii"]),
            ("10-class, sum", t["readouts"]["sum"]["test_accuracy"], t, t["readouts"]["sum"]["radii"]))
    for name, acc, net, r in rows:
        linf = r.get("linf", {})
        w(f"  {name:18s}  {acc:8.4f}  {net['averaging_score']:9.4f}  {net['decoupling_score']:9.4f}  "
          f"{r['l2']['median']:14.4f} [{r['l2']['gap']:.1g}]  {r['pgd']['median_ratio_to_exact']:9.4f}  "
          f"{_f(linf.get('median')) if linf.get('available') else '-':>11s}\n")
    ref = s["reference_scores"]
    w(f"  reference scores on these means: averaging net (w_s = sum_J_s mu_j) avg "
      f"{ref['averaging_net']['averaging_score']:.4f} dec {ref['averaging_net']['decoupling_score']:.4f}; "
      f"decoupled net (w_j = mu_j) avg {ref['decoupled_net']['averaging_score']:.4f} "
      f"dec {ref['decoupled_net']['decoupling_score']:.4f}\n")
    linf = p["radii"].get("linf", {})
    if linf.get("available"):
        w(f"  L-infinity radii on the first {linf['points']} points (certified, largest relative gap "
          f"{max(r['linf']['max_point_gap'] for _, _, _, r in rows):.1g})\n")
    else:
        w(f"  L-infinity radii: not available ({linf['reason']})\n")
    ra = s["robust_accuracy"]
    w("  robust accuracy (exact L2)   radius   parity   argmax      sum\n")
    for i in range(0, len(ra["radius"]), 5):
        w(f"                             {ra['radius'][i]:6.3f}  {ra['parity']['exact'][i]:7.3f}  "
          f"{ra['argmax']['exact'][i]:7.3f}  {ra['sum']['exact'][i]:7.3f}\n")
    w(f"  total {s['seconds']['total']:.1f} s\n")


def run(args):
    result = public(run_digits(config_from_args(args), progress=not args.json))
    if args.json:
        print_json(result)
    else:
        _print_summary(result)
    return 0


__all__ = ["NAME", "HELP", "add_arguments", "run", "config_from_args", "public"]
