"""C5.readouts: the trained net's bounds, derived for every size in the claim, cross-checked on random nets.

The derivation steps "lower bound" and "upper bound (sum readout)" of C5.readouts are proved for
symbolic sizes (sums of ReLU facts over the outputs); these tests are their former instance checks,
kept as an independent numerical oracle: random pre-activations and random nets, exact readouts.
"""

import itertools

import numpy as np

from featavg._registry import default_registry


def relu(x):
    return np.maximum(x, 0.0)


def test_a_flip_lies_in_some_family_half_space():
    """Sum: F <= 0 implies z_s <= sum_A z_l for some A (A empty: z_s <= 0); argmax: some j' with
    z_j' >= z_s or z_s <= 0. 4000 random pre-activation vectors, |J_s| = |J_-s| = 3 (own output s = 0)."""
    rng = np.random.default_rng(0)
    flips = {"sum": 0, "argmax": 0}
    for z in rng.normal(size=(4000, 6)):
        own, opp = z[:3], z[3:]
        fam = max(opp[list(A)].sum() for r in range(1, 4) for A in itertools.combinations(range(3), r))
        if relu(own).sum() <= relu(opp).sum():
            flips["sum"] += 1
            assert own[0] <= max(fam, 0.0)
        if relu(own).max() <= relu(opp).max():
            flips["argmax"] += 1
            assert own[0] <= max(opp.max(), 0.0)
    assert min(flips.values()) > 500  # both implications were exercised


def test_the_extra_step_flips_the_sum_readout():
    """From the attack point of the best family, moving on by sum_B z_j^+/||g|| along -g flips the point
    when (G e)_j >= 0 for the other own outputs and z_s stays >= 0 (600 random nets, 3 + 3 outputs in
    R^8, cross-cosines about -0.1)."""
    rng = np.random.default_rng(1)
    used = 0
    for _ in range(600):
        W = np.eye(6, 8) + 0.15 * rng.normal(size=(6, 8))
        W -= 0.1 * W.sum(axis=0) / 6
        x = 4 * np.eye(8)[0] + rng.normal(size=8)
        z0 = W @ x
        best = None
        for r in range(1, 4):
            for A in itertools.combinations(range(3, 6), r):
                e = np.zeros(6)
                e[0], e[list(A)] = 1.0, -1.0
                g = e @ W
                cost = e @ z0 / np.linalg.norm(g)
                if best is None or cost < best[0]:
                    best = (cost, g, e)
        cost, g, e = best
        u = -g / np.linalg.norm(g)
        z_end = W @ (x + cost * u)
        extra = relu(z_end[1:3]).sum() / np.linalg.norm(g)
        if np.all(W[1:3] @ g >= 0) and z_end[0] - extra * (W[0] @ g) / np.linalg.norm(g) >= 0:
            zf = W @ (x + (cost + extra + 1e-9) * u)
            assert relu(zf[:3]).sum() <= relu(zf[3:]).sum()
            used += 1
    assert used > 100


def test_the_gram_cost_is_the_minimal_perturbation():
    """The family cost e.z/sqrt(e^T G e) (the prediction ``attack_cost``) against the least-norm solution
    of e.(z + W rho) = 0 by NumPy's lstsq, for random nets of several shapes."""
    cost = default_registry().claim("C5.readouts").predictions["attack_cost"]
    rng = np.random.default_rng(2)
    for M, D in ((2, 3), (5, 4), (7, 30)):
        W, x = rng.normal(size=(M, D)), rng.normal(size=D)
        e = rng.choice([-1.0, 0.0, 1.0], size=M)
        e[0] = 1.0
        z = W @ x
        phi = abs(e @ z)
        rho = np.linalg.lstsq((e @ W)[None, :], [-np.sign(e @ z) * phi], rcond=None)[0]
        assert np.isclose(np.linalg.norm(rho), float(cost(phi, e @ W @ W.T @ e)), rtol=1e-10)
