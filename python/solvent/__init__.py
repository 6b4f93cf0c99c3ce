"""Solvent: an optimisation solver engine in Rust, from Python.

Linear systems and sequences of them (Krylov recycling with sorting), neural-operator
data sets, sparse GLMs by block coordinate descent (scikit-learn-style estimators),
matrix completion, layer-wise allocation under a budget, and bilevel optimisation by
first-order penalty methods. NumPy and SciPy in and out; the GIL is released while
Rust computes and Ctrl-C interrupts a long run.

Every function wraps the same library call as the ``solvent`` command line, with its
defaults (but ``device="cpu"`` for ``solve`` and ``solve_sequence``); the results carry
the same reports.
"""

from ._solvent import __version__
from ._common import ConvergenceWarning
from ._linear import SequenceResult, SolveResult, solve, solve_sequence
from ._datagen import Dataset, datagen, merge_shards
from ._estimators import (
    ElasticNet,
    Lasso,
    LogisticRegression,
    MultinomialLogisticRegression,
    NonNegativeLeastSquares,
    SparseLogisticRegression,
)
from ._completion import CompletionModel, complete
from ._allocation import Allocation, allocate
from ._bilevel import BilevelResult, bilevel

__all__ = [
    "__version__",
    "ConvergenceWarning",
    "solve",
    "SolveResult",
    "solve_sequence",
    "SequenceResult",
    "datagen",
    "Dataset",
    "merge_shards",
    "Lasso",
    "ElasticNet",
    "SparseLogisticRegression",
    "LogisticRegression",
    "MultinomialLogisticRegression",
    "NonNegativeLeastSquares",
    "complete",
    "CompletionModel",
    "allocate",
    "Allocation",
    "bilevel",
    "BilevelResult",
]
