"""Estimators in scikit-learn style over the block coordinate descent family.

They follow scikit-learn's conventions (``fit``/``predict``/``score``, ``coef_``,
``intercept_``, ``n_iter_``, ``get_params``/``set_params``, constructor arguments
stored as given) without depending on it, so ``sklearn.model_selection`` and
``sklearn.base.clone`` work when scikit-learn is installed. Objectives are scaled as
scikit-learn's (and skglm's), so ``alpha``/``C`` mean the same thing.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Optional

import numpy as np

from . import _solvent
from ._common import NotFittedError, csr_arrays, is_sparse, load, number, positive, status_name, warn_not_converged


def _store(est: "_BcdEstimator", params: Dict[str, Any]) -> None:
    """Stores the constructor's arguments as given (scikit-learn's convention: no
    validation or conversion in ``__init__``; ``get_params`` reads them back)."""
    for name in type(est)._param_names():
        setattr(est, name, params[name])


class _Settings:
    def __init__(self, est: "_BcdEstimator"):
        self.strategy = "greedy" if est.paper else est.strategy
        self.rule = est.rule
        self.update = est.update
        self.partition = est.partition
        self.block_size = None if est.block_size is None else positive(est.block_size, "block_size", integer=True)
        self.active_set = bool(est.active_set) and not est.paper
        self.rescan = 1 if est.paper else (None if est.rescan is None else positive(est.rescan, "rescan",
                                                                                    integer=True))
        seed = 0 if est.random_state is None else est.random_state
        self.seed = positive(seed, "random_state", integer=True, allow_zero=True)


class _BcdEstimator:
    """Shared machinery: parameters, fitting through ``bcd_fit``, results."""

    _kind = ""

    # --- scikit-learn's parameter protocol -------------------------------------------
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters and their values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "_BcdEstimator":
        """Set constructor parameters; returns the estimator."""
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # --- fitting ----------------------------------------------------------------------
    def _problem(self, n_samples: int):
        """(kind, lambda, lambda_ratio, l2) of this estimator for ``n_samples``."""
        raise NotImplementedError

    def _fit(self, X: Any, y: Any, sample_weight: Any = None):
        indptr, indices, data, shape = csr_arrays(X, "X")
        yv = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if yv.ndim != 1:
            raise ValueError(f"y must be 1-D, found shape {yv.shape}")
        if yv.shape[0] != shape[0]:
            raise ValueError(f"y has {yv.shape[0]} entries; X has {shape[0]} rows")
        if yv.dtype.kind not in "fiub":
            raise TypeError(f"y must hold numbers, found dtype {yv.dtype}")
        yv = np.ascontiguousarray(yv, dtype=np.float64)
        if not np.isfinite(yv).all():
            raise ValueError("y holds NaN or infinity")
        sw = None
        if sample_weight is not None:
            sw = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64))
            if sw.ndim != 1 or sw.shape[0] != shape[0]:
                raise ValueError(f"sample_weight must have one entry per row of X ({shape[0]}), found shape {sw.shape}")
        kind, lam, ratio, l2 = self._problem(shape[0])
        tol = positive(self.tol, "tol")
        max_iter = positive(self.max_iter, "max_iter", integer=True)
        coef, intercept, text = _solvent.bcd_fit(indptr, indices, data, shape, yv, kind, lam, ratio, l2,
                                                 bool(self.fit_intercept), _Settings(self), tol, max_iter, sw)
        info = load(text)
        report = info["report"]
        self.n_features_in_ = shape[1]
        self.n_iter_ = int(report["iterations"])
        self.status_ = status_name(report["status"])
        self.objective_ = number(report["metrics"].get("objective"))
        self.gap_ = number(report["metrics"]["value"])
        self.lambda_ = float(info["lambda"])
        self.report_ = info
        classes = int(info["classes"])
        coef = np.asarray(coef)
        if classes > 1:
            coef = coef.reshape(shape[1], classes).T.copy()
        self.coef_ = coef
        icpt = np.asarray(intercept, dtype=np.float64)
        self.intercept_ = (icpt if classes > 1 else float(icpt[0])) if len(icpt) else (
            np.zeros(classes) if classes > 1 else 0.0)
        if self.status_ != "converged":
            warn_not_converged(type(self).__name__, self.status_, f"gap or KKT residual {self.gap_:.3e}")
        return info

    def _decision(self, X: Any) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) first")
        Xm = X if is_sparse(X) else np.asarray(X, dtype=np.float64)
        if Xm.ndim != 2 or Xm.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns, found shape {Xm.shape}")
        out = np.asarray(Xm @ self.coef_.T if self.coef_.ndim == 2 else Xm @ self.coef_) + self.intercept_
        # binary classifiers keep scikit-learn's (1, n_features) coef_: one score per row
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def __sklearn_tags__(self):  # called by scikit-learn ≥ 1.6 only, which is then installed
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        classifier = self._estimator_type == "classifier"
        multi = type(self).__name__ == "MultinomialLogisticRegression"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=multi) if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
            input_tags=InputTags(sparse=True),
        )


class _Regressor(_BcdEstimator):
    _estimator_type = "regressor"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_Regressor":
        """Fit on design ``X`` (dense or SciPy sparse, n_samples × n_features) and targets ``y``;
        ``sample_weight`` (one non-negative weight per row) is rescaled to sum to n_samples,
        as scikit-learn's Lasso and ElasticNet do."""
        self._fit(X, y, sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_ + intercept_``."""
        return self._decision(X)

    def score(self, X: Any, y: Any) -> float:
        """The coefficient of determination R² of the prediction."""
        y = np.asarray(y, dtype=np.float64)
        r = y - self.predict(X)
        return float(1.0 - (r @ r) / ((y - y.mean()) @ (y - y.mean())))


class _Classifier(_BcdEstimator):
    _estimator_type = "classifier"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_Classifier":
        """Fit on design ``X`` (dense or SciPy sparse) and class labels ``y`` (any
        sortable values: numbers or strings); ``sample_weight`` (one non-negative weight per
        row) weights the samples' losses, rescaled to sum to n_samples."""
        yv = np.asarray(y)
        if yv.ndim != 1:
            raise ValueError(f"y must be 1-D, found shape {yv.shape}")
        # the library takes numeric labels; sorted distinct labels become 0, 1, …
        classes, codes = np.unique(yv, return_inverse=True)
        self._fit(X, codes.astype(np.float64), sample_weight)
        self.classes_ = classes
        if self.coef_.ndim == 1:
            # scikit-learn's shapes for a binary classifier: coef_ (1, n_features), intercept_ (1,)
            self.coef_ = self.coef_[None, :]
            self.intercept_ = np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: ``X @ coef_ + intercept_`` (one column per class for several classes)."""
        return self._decision(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most likely class of every row."""
        d = self._decision(X)
        if d.ndim == 1:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[np.argmax(d, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (columns in the order of ``classes_``)."""
        d = self._decision(X)
        if d.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-d))
            return np.column_stack([1.0 - p, p])
        d = d - d.max(axis=1, keepdims=True)
        e = np.exp(d)
        return e / e.sum(axis=1, keepdims=True)

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


_COMMON_DOC = """
    fit_intercept : bool
        Fit an unpenalised intercept.
    strategy : str
        How to solve: ``auto`` (working sets for the L1 problems unless a greedy
        setting below is given, the greedy rules otherwise), ``working-set`` (working
        sets ranked by KKT violation, coordinate descent with Anderson extrapolation,
        proximal Newton for logistic losses, gap-safe screening) or ``greedy`` (the BCD
        paper's rules; ``rule``, ``update``, ``partition``, ``block_size`` and
        ``rescan`` apply to it).
    tol : float
        Stop when the duality gap (or, for problems without one, the KKT residual)
        is at most ``tol`` — an absolute gap on the objective above.
    max_iter : int
        Most block updates.
    rule : str, optional
        Block selection rule: cyclic, random, lipschitz, gs, gsl, gsd, gsq, gs-s,
        gs-r, gs-q. Default: the family's choice for the problem (gs-q for L1 and
        bounds, gsq for smooth problems).
    update : str, optional
        Block update: gradient, matrix, newton. Default: matrix for least squares,
        newton otherwise.
    partition : str, optional
        Block partition: order, sort, avg, variable. Default: variable.
    block_size : int, optional
        Coordinates per block (default 50, at most the number of features).
    active_set : bool
        Finish with the active-set Newton steps once the support settles.
    rescan : int, optional
        Full greedy rescans every this many steps in the active-set phase.
    paper : bool
        The BCD paper's method exactly (no active set, a rescan every step).
    random_state : int
        Seed of the random rules.

    Attributes
    ----------
    coef_ : ndarray
        (n_features,) for regressors, (n_classes or 1, n_features) for classifiers, as
        scikit-learn's.
    intercept_ : float or ndarray
        A float for regressors, (n_classes or 1,) for classifiers.
    n_iter_ : int
        Block updates done.
    status_ : str
        How the run ended (``converged``, ``iteration_limit``, …).
    gap_ : float
        The final duality gap (or KKT residual).
    objective_ : float
        The final objective value.
    report_ : dict
        The full report.
"""


def _doc(cls):
    cls.__doc__ = (cls.__doc__ or "") + _COMMON_DOC
    return cls


@_doc
class Lasso(_Regressor):
    """Linear regression with an L1 penalty, by block coordinate descent.

    Minimises ``(1 / (2 n)) ‖y − X w − b‖² + alpha ‖w‖₁`` (scikit-learn's scaling).

    Parameters
    ----------
    alpha : float
        The L1 weight.
    """

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True, tol: float = 1e-6,
                 max_iter: int = 100_000, strategy: str = "auto", rule: Optional[str] = None, update: Optional[str] = None,
                 partition: Optional[str] = None, block_size: Optional[int] = None, active_set: bool = True,
                 rescan: Optional[int] = None, paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        return "lasso", positive(self.alpha, "alpha", allow_zero=True), None, None


@_doc
class ElasticNet(_Regressor):
    """Linear regression with L1 and L2 penalties, by block coordinate descent.

    Minimises ``(1 / (2 n)) ‖y − X w − b‖² + alpha · l1_ratio · ‖w‖₁
    + ½ alpha (1 − l1_ratio) ‖w‖²`` (scikit-learn's scaling).

    Parameters
    ----------
    alpha : float
        Overall penalty weight.
    l1_ratio : float
        Share of the L1 penalty, in [0, 1].
    """

    def __init__(self, alpha: float = 1.0, l1_ratio: float = 0.5, fit_intercept: bool = True, tol: float = 1e-6,
                 max_iter: int = 100_000, strategy: str = "auto", rule: Optional[str] = None, update: Optional[str] = None,
                 partition: Optional[str] = None, block_size: Optional[int] = None, active_set: bool = True,
                 rescan: Optional[int] = None, paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        a = positive(self.alpha, "alpha", allow_zero=True)
        r = float(self.l1_ratio)
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], found {r}")
        return "lasso", a * r, None, a * (1.0 - r)


@_doc
class SparseLogisticRegression(_Classifier):
    """Binary logistic regression with an L1 penalty, by block coordinate descent.

    Minimises ``(1 / n) Σ log(1 + exp(−y_i (x_i·w + b))) + alpha ‖w‖₁`` (skglm's
    scaling; labels are any two sortable values, the larger one is the positive class).

    Parameters
    ----------
    alpha : float
        The L1 weight.
    """

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True, tol: float = 1e-6,
                 max_iter: int = 100_000, strategy: str = "auto", rule: Optional[str] = None, update: Optional[str] = None,
                 partition: Optional[str] = None, block_size: Optional[int] = None, active_set: bool = True,
                 rescan: Optional[int] = None, paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        return "l1-logistic", positive(self.alpha, "alpha", allow_zero=True), None, None


@_doc
class LogisticRegression(_Classifier):
    """Binary logistic regression with an L2 (or L1) penalty, by block coordinate descent.

    Minimises scikit-learn's objective ``½ ‖w‖² + C Σ log(1 + exp(−y_i (x_i·w + b)))``
    (``penalty="l1"``: ``‖w‖₁ + C Σ …``); the intercept is not penalised. Internally
    the objective is divided by ``n C`` (same minimiser).

    Parameters
    ----------
    C : float
        Inverse regularisation strength.
    penalty : {"l2", "l1"}
    """

    def __init__(self, C: float = 1.0, penalty: str = "l2", fit_intercept: bool = True, tol: float = 1e-6,
                 max_iter: int = 100_000, strategy: str = "auto", rule: Optional[str] = None, update: Optional[str] = None,
                 partition: Optional[str] = None, block_size: Optional[int] = None, active_set: bool = True,
                 rescan: Optional[int] = None, paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        lam = 1.0 / (n * positive(self.C, "C"))
        if self.penalty == "l2":
            return "logistic", lam, None, None
        if self.penalty == "l1":
            return "l1-logistic", lam, None, None
        raise ValueError(f"penalty must be 'l2' or 'l1', not {self.penalty!r}")


@_doc
class MultinomialLogisticRegression(_Classifier):
    """Multinomial (softmax) logistic regression with an L2 penalty, by block coordinate
    descent.

    Minimises ``½ ‖W‖² + C Σ_i (log Σ_c exp(z_ic) − z_i,y_i)``, ``z = X Wᵀ + b``
    (scikit-learn's multinomial objective; intercepts unpenalised). Labels are integers.

    Parameters
    ----------
    C : float
        Inverse regularisation strength.
    """

    def __init__(self, C: float = 1.0, fit_intercept: bool = True, tol: float = 1e-6, max_iter: int = 100_000, strategy: str = "auto",
                 rule: Optional[str] = None, update: Optional[str] = None, partition: Optional[str] = None,
                 block_size: Optional[int] = None, active_set: bool = True, rescan: Optional[int] = None,
                 paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        return "softmax", 1.0 / (n * positive(self.C, "C")), None, None


@_doc
class NonNegativeLeastSquares(_Regressor):
    """Least squares with non-negative coefficients (and an optional L1 penalty), by
    block coordinate descent.

    Minimises ``(1 / (2 n)) ‖y − X w − b‖² + alpha ‖w‖₁`` subject to ``w ≥ 0``.

    Parameters
    ----------
    alpha : float
        The L1 weight (0: plain NNLS).
    """

    def __init__(self, alpha: float = 0.0, fit_intercept: bool = False, tol: float = 1e-6,
                 max_iter: int = 100_000, strategy: str = "auto", rule: Optional[str] = None, update: Optional[str] = None,
                 partition: Optional[str] = None, block_size: Optional[int] = None, active_set: bool = True,
                 rescan: Optional[int] = None, paper: bool = False, random_state: int = 0):
        _store(self, locals())

    def _problem(self, n):
        a = positive(self.alpha, "alpha", allow_zero=True)
        return "nnls", (a if a > 0 else None), None, None
