"""The BCD estimators against scikit-learn and SciPy on the same data."""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import solvent

sklearn = pytest.importorskip("sklearn")
from sklearn import linear_model  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402


def regression(n=200, p=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:8] = rng.standard_normal(8) * 3
    y = X @ w + 0.5 * rng.standard_normal(n) + 2.0
    return X, y


def classification(n=300, p=40, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, classes))
    y = np.argmax(X @ W + rng.gumbel(size=(n, classes)), axis=1)
    return X, y


def lasso_objective(X, y, w, b, alpha):
    r = y - X @ w - b
    return r @ r / (2 * len(y)) + alpha * np.abs(w).sum()


def test_lasso_objective_equals_scikit_learn():
    X, y = regression()
    alpha_max = np.abs(X.T @ (y - y.mean())).max() / len(y)
    for frac in (0.5, 0.1, 0.01):
        alpha = frac * alpha_max
        ours = solvent.Lasso(alpha=alpha, tol=1e-13).fit(X, y)
        ref = linear_model.Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
        a = lasso_objective(X, y, ours.coef_, ours.intercept_, alpha)
        b = lasso_objective(X, y, ref.coef_, ref.intercept_, alpha)
        assert abs(a - b) <= 1e-8 * b, (frac, a, b)
        assert ours.status_ == "converged"


def test_lasso_on_sparse_input_equals_dense():
    X, y = regression(n=150, p=80, seed=1)
    X[np.abs(X) < 1.0] = 0.0
    dense = solvent.Lasso(alpha=0.05, tol=1e-12).fit(X, y)
    sparse = solvent.Lasso(alpha=0.05, tol=1e-12).fit(sp.csc_matrix(X), y)
    assert np.allclose(dense.coef_, sparse.coef_, atol=1e-8)


def test_elastic_net_objective_equals_scikit_learn():
    X, y = regression(seed=2)
    alpha, r = 0.3, 0.7
    ours = solvent.ElasticNet(alpha=alpha, l1_ratio=r, tol=1e-13).fit(X, y)
    ref = linear_model.ElasticNet(alpha=alpha, l1_ratio=r, tol=1e-14, max_iter=1_000_000).fit(X, y)

    def obj(w, b):
        res = y - X @ w - b
        return res @ res / (2 * len(y)) + alpha * r * np.abs(w).sum() + 0.5 * alpha * (1 - r) * w @ w

    a, b = obj(ours.coef_, ours.intercept_), obj(ref.coef_, ref.intercept_)
    assert abs(a - b) <= 1e-8 * b


def test_logistic_objective_equals_scikit_learn():
    X, y = classification()
    for C in (0.1, 1.0):
        ours = solvent.LogisticRegression(C=C, tol=1e-12).fit(X, y)
        ref = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y)
        s = np.where(y == ref.classes_[1], 1.0, -1.0)

        def obj(w, b):
            return 0.5 * w @ w + C * np.logaddexp(0.0, -s * (X @ w + b)).sum()

        assert ours.coef_.shape == ref.coef_.shape and ours.intercept_.shape == ref.intercept_.shape
        a = obj(ours.coef_.ravel(), ours.intercept_[0])
        b = obj(ref.coef_.ravel(), ref.intercept_[0])
        assert abs(a - b) <= 1e-8 * b, (C, a, b)
        assert np.array_equal(ours.classes_, ref.classes_)
        assert np.mean(ours.predict(X) == ref.predict(X)) > 0.99


def test_sparse_logistic_matches_an_l1_scikit_learn_fit():
    X, y = classification(seed=3)
    C = 0.05
    ours = solvent.LogisticRegression(C=C, penalty="l1", tol=1e-12).fit(X, y)
    with warnings.catch_warnings():
        # scikit-learn ≥ 1.8 deprecates `penalty`; the fit is the same
        warnings.simplefilter("ignore")
        ref = linear_model.LogisticRegression(C=C, penalty="l1", solver="liblinear", tol=1e-12, max_iter=100_000,
                                              intercept_scaling=1e6).fit(X, y)
    s = np.where(y == 1, 1.0, -1.0)

    def obj(w, b):
        return np.abs(w).sum() + C * np.logaddexp(0.0, -s * (X @ w + b)).sum()

    a, b = obj(ours.coef_.ravel(), ours.intercept_[0]), obj(ref.coef_.ravel(), ref.intercept_[0])
    # liblinear penalises its (scaled) intercept a little: ours is at least as good
    assert a <= b * (1 + 1e-8)
    alpha = 1 / (len(y) * C)
    sparse = solvent.SparseLogisticRegression(alpha=alpha, tol=1e-12).fit(X, y)
    assert np.allclose(sparse.coef_, ours.coef_, atol=1e-7)


def test_multinomial_objective_equals_scikit_learn():
    X, y = classification(n=240, p=12, seed=4, classes=3)
    C = 0.5
    ours = solvent.MultinomialLogisticRegression(C=C, tol=1e-11).fit(X, y)
    ref = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(X, y)

    def obj(W, b):
        Z = X @ W.T + b
        return 0.5 * (W * W).sum() + C * (np.logaddexp.reduce(Z, axis=1) - Z[np.arange(len(y)), y]).sum()

    a, b = obj(ours.coef_, ours.intercept_), obj(ref.coef_, ref.intercept_)
    assert ours.coef_.shape == (3, 12)
    assert abs(a - b) <= 1e-8 * b, (a, b)


def test_nnls_equals_scipy():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 20))
    y = X @ np.abs(rng.standard_normal(20)) - 2 * X[:, 0] + rng.standard_normal(80)
    ours = solvent.NonNegativeLeastSquares(tol=1e-12).fit(X, y)
    ref, _ = scipy.optimize.nnls(X, y)
    assert (ours.coef_ >= 0).all()
    assert np.allclose(ours.coef_, ref, atol=1e-7)


def test_scikit_learn_tools_accept_the_estimators():
    X, y = regression(n=120, p=20, seed=6)
    est = solvent.Lasso(alpha=0.1)
    assert clone(est).get_params() == est.get_params()
    scores = cross_val_score(est, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()
    grid = GridSearchCV(solvent.Lasso(), {"alpha": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    assert grid.best_params_["alpha"] in (0.01, 0.1, 1.0)
    Xc, yc = classification(n=150, p=10, seed=7)
    acc = cross_val_score(solvent.LogisticRegression(), Xc, yc, cv=3)
    assert (acc > 0.6).all()


def test_bad_input_and_parameters():
    X, y = regression(n=30, p=10)
    with pytest.raises(ValueError, match="y has 29 entries"):
        solvent.Lasso().fit(X, y[:-1])
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="X holds a non-finite value"):
        solvent.Lasso().fit(Xn, y)
    with pytest.raises(ValueError, match="invalid parameter"):
        solvent.Lasso().set_params(alhpa=1)
    with pytest.raises(ValueError, match="rule"):
        solvent.Lasso(rule="nope").fit(X, y)
    with pytest.raises(ValueError, match="not fitted"):
        solvent.Lasso().predict(X)


def test_a_30_feature_data_set_at_defaults():
    # breast-cancer-sized: 30 features, the default block size must adapt
    X, y = classification(n=569, p=30, seed=8)
    est = solvent.SparseLogisticRegression(alpha=0.01).fit(X, y)
    assert est.status_ == "converged"


def test_string_labels_are_classes():
    X, y = classification(n=200, p=8, seed=9)
    labels = np.array(["no", "yes"])
    names = labels[y]
    a = solvent.LogisticRegression(tol=1e-10).fit(X, y)
    b = solvent.LogisticRegression(tol=1e-10).fit(X, names)
    assert list(b.classes_) == ["no", "yes"]
    assert np.array_equal(b.predict(X), labels[a.predict(X)])
    with pytest.raises(AttributeError):
        solvent.Lasso().predict(X)  # not fitted: scikit-learn's NotFittedError contract


def test_strategies_equal_scikit_learn_to_1e_10():
    """The working-set solver and the paper's greedy rules reach scikit-learn's objective to
    1e-10 relative on small problems, for the Lasso, the elastic net and weighted samples."""
    X, y = regression(n=150, p=80, seed=5)
    X[np.abs(X) < 0.8] = 0.0
    alpha_max = np.abs(X.T @ (y - y.mean())).max() / len(y)
    sw = 0.5 + np.random.default_rng(0).random(len(y)) * 2
    for frac in (0.3, 0.05):
        alpha = frac * alpha_max
        for l1_ratio in (1.0, 0.6):
            for weights in (None, sw):
                def obj(w, b):
                    s = np.ones(len(y)) if weights is None else weights * len(y) / weights.sum()
                    r = y - X @ w - b
                    return ((s * r) @ r / (2 * len(y)) + alpha * l1_ratio * np.abs(w).sum()
                            + 0.5 * alpha * (1 - l1_ratio) * w @ w)

                ref = linear_model.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15,
                                              max_iter=10_000_000).fit(X, y, sample_weight=weights)
                f_ref = obj(ref.coef_, ref.intercept_)
                for strategy in ("working-set", "greedy", "auto"):
                    ours = solvent.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14,
                                              strategy=strategy).fit(X, y, sample_weight=weights)
                    assert ours.status_ == "converged", (strategy, ours.status_)
                    f = obj(ours.coef_, ours.intercept_)
                    assert abs(f - f_ref) <= 1e-10 * f_ref, (frac, l1_ratio, strategy, f, f_ref)
                    if strategy == "auto":
                        assert ours.report_["method"].startswith("working-set")


def test_sparse_logistic_strategies_agree():
    X, y = classification(seed=4)
    alpha = 0.02
    fits = {s: solvent.SparseLogisticRegression(alpha=alpha, tol=1e-13, strategy=s).fit(X, y)
            for s in ("working-set", "greedy")}
    s = np.where(y == 1, 1.0, -1.0)

    def obj(m):
        return np.logaddexp(0.0, -s * (X @ m.coef_.ravel() + m.intercept_[0])).mean() + alpha * np.abs(m.coef_).sum()

    a, b = obj(fits["working-set"]), obj(fits["greedy"])
    assert abs(a - b) <= 1e-10 * b, (a, b)
    with pytest.raises(ValueError, match="strategy='greedy'"):
        solvent.Lasso(strategy="working-set", rule="gs-r").fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        solvent.Lasso().fit(X, y, sample_weight=np.ones(3))
