"""featavg.simulate: pure-NumPy simulation of docs/science.md §1 with hand-derived gradients.

Never imports SymPy: the formulas it implements live in ``featavg.theory`` and are compared with
it in ``tests/``.
"""

from ._activations import (ACTIVATIONS, RELU, RELU_P_DEFAULTS, Activation, LeakyReLU, ReLU, ReLUPower, activation_defaults,
                           make_activation, validate_activation)
from ._data import (COHERENCE_KINDS, Sample, feature_correlation, feature_gram, flip_labels, gram_factor, gram_features,
                    make_features, make_partition, sample_mixture)
from ._diagnostics import late_phase_state, regime_warnings
from ._ideal import (averaging_net, decoupled_late_regime, decoupled_net, late_regime, mixed_label_net,
                     noise_free_sample, threshold_net)
from ._errors import FeatavgError, InvalidParameter, NumericalError, RunFileError
from ._io import RUN_ARRAYS, atomic_write, load_run, save_run
from ._metrics import (
    accuracy,
    activation_fractions,
    averaging_score,
    cluster_margins,
    cosine_matrix,
    decoupling_score,
    feature_coefficients,
    late_phase_start,
    neuron_classes,
)
from ._networks import READOUTS, BinaryNetwork, MultiClassNetwork, logistic_loss
from ._reduced import D_MAX, ReducedInputs, ReducedSampler, bartlett_factor, embed_explicit, reduced_applies, reduced_dimension
from ._robust import (
    MAX_SUBPROBLEMS,
    RadiusResult,
    exact_radii,
    exact_radius,
    optimal_robust_accuracy,
    robust_accuracy,
)
from ._robust_attacks import (
    PGD_DEFAULTS,
    averaged_direction,
    averaged_direction_radii,
    input_gradient,
    pgd_linf_radii,
    pgd_radii,
)
from ._certify import DEFAULT_GAP, ENUMERATE_MAX_FAMILY, METHODS as RADIUS_METHODS, NORMS, certificate_bound
from ._replicas import REPLICA_METHODS, run_replicas
from ._training import (ADVERSARIAL_SALT, INNER_STEPS, Trajectory, adversarial_training, averaged_start,
                        centre_preactivations, nearest_boundary_perturbation, pgd_l2_perturbation, train_from)
from ._span import METHODS, choose_method
from ._run import (
    PAPER_D,
    PAPER_ETA,
    PAPER_INIT_SCALE,
    default_eta,
    default_init_scale,
    ENGINES,
    FEATURE_BASES,
    RNG_STREAMS,
    SUPERVISIONS,
    Config,
    Run,
    gradient_descent,
    init_weights,
    make_network,
    run_simulation,
)

__all__ = [
    "ACTIVATIONS", "RELU", "RELU_P_DEFAULTS", "Activation", "LeakyReLU", "ReLU", "ReLUPower", "activation_defaults",
    "make_activation", "validate_activation",
    "Sample", "make_features", "make_partition", "sample_mixture", "late_phase_state", "regime_warnings",
    "COHERENCE_KINDS", "feature_correlation", "feature_gram", "gram_factor", "gram_features", "flip_labels",
    "FeatavgError", "InvalidParameter", "NumericalError", "RunFileError",
    "RUN_ARRAYS", "atomic_write", "load_run", "save_run",
    "accuracy", "activation_fractions", "averaging_score", "cluster_margins", "cosine_matrix",
    "decoupling_score", "feature_coefficients", "neuron_classes", "late_phase_start",
    "averaging_net", "threshold_net", "decoupled_net", "mixed_label_net", "late_regime", "decoupled_late_regime",
    "noise_free_sample",
    "READOUTS", "BinaryNetwork", "MultiClassNetwork", "logistic_loss",
    "PAPER_D", "PAPER_ETA", "PAPER_INIT_SCALE", "default_eta", "default_init_scale",
    "ENGINES", "FEATURE_BASES", "RNG_STREAMS", "SUPERVISIONS", "Config", "Run", "gradient_descent",
    "init_weights", "make_network", "run_simulation",
    "MAX_SUBPROBLEMS", "RadiusResult", "exact_radii", "exact_radius", "optimal_robust_accuracy",
    "robust_accuracy",
    "PGD_DEFAULTS", "averaged_direction", "averaged_direction_radii", "input_gradient", "pgd_radii",
    "pgd_linf_radii", "DEFAULT_GAP", "ENUMERATE_MAX_FAMILY", "RADIUS_METHODS", "NORMS", "certificate_bound",
    "REPLICA_METHODS", "run_replicas",
    "ADVERSARIAL_SALT", "INNER_STEPS", "Trajectory", "adversarial_training", "averaged_start", "centre_preactivations",
    "nearest_boundary_perturbation", "pgd_l2_perturbation", "train_from", "METHODS", "choose_method",
    "D_MAX", "ReducedInputs", "ReducedSampler", "bartlett_factor", "embed_explicit", "reduced_applies", "reduced_dimension",
]
