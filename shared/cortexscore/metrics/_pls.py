"""sklearn's ``PLSRegression(scale=False)`` (NIPALS, mode A, regression deflation) rewritten in kernel form.

sklearn iterates its power method on the (n_train x n_features) matrix X. Every
quantity it touches can be written with the Gram matrix K = Xc Xc^T instead:

- the x weights are w = Xk^T a for an n-vector a, so ``w.w = a^T Kk a``
  and the x scores are ``t = Kk a``;
- every iterate of the y score lies in the span of the deflated targets Yk,
  u = Yk g, so the power method runs on q x q matrices
  (M = Yk^T Kk Yk, S = Yk^T Yk, N = (Kk Yk)^T (Kk Yk)), q = number of neuroids;
- deflating X by t is the projector Q = I - t t^T / t.t applied to the rows,
  so G = Kk Yk is updated in O(n q) per component and Kk is never formed.

The iterates are the same numbers as sklearn's up to floating-point rounding
(including its tol on the *squared* change of the x weights, and its eps
terms), so the predictions agree with sklearn's to ~1e-12; but a component
costs a few n x n matrix-vector products instead of two n x p products per
power iteration, and nothing depends on the number of features.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

_EPS = np.finfo(np.float64).eps
# Built once, after numpy and scipy have loaded their BLAS: building one scans every loaded library,
# which cost more than a small fit when done per call (threadpool_limits does it every time).
_THREADPOOLS = ThreadpoolController()


def kernel_pls_predict(train_gram: np.ndarray, test_gram: np.ndarray, target_train: np.ndarray, *,
                       n_components: int = 25, max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Centred test prediction of ``PLSRegression(n_components, scale=False)`` fitted on centred data.

    Parameters
    ----------
    train_gram : ndarray (n_train, n_train)
        Xc Xc^T for the train source centred by its train mean.
    test_gram : ndarray (n_test, n_train)
        (X_test - mean) Xc^T.
    target_train : ndarray (n_train, n_targets)
        The train target centred by its train mean.

    Returns
    -------
    ndarray (n_test, n_targets)
        The prediction minus the train target mean.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(30, 8)), rng.normal(size=(30, 3))
    >>> xc, yc = x[:20] - x[:20].mean(0), y[:20] - y[:20].mean(0)
    >>> from sklearn.cross_decomposition import PLSRegression
    >>> reference = PLSRegression(n_components=4, scale=False).fit(x[:20], y[:20]).predict(x[20:]) - y[:20].mean(0)
    >>> ours = kernel_pls_predict(xc @ xc.T, (x[20:] - x[:20].mean(0)) @ xc.T, yc, n_components=4)
    >>> bool(np.allclose(ours, reference, atol=1e-10))
    True
    """
    gram_targets = train_gram @ target_train          # G = Kk Yk
    # The component loop is thousands of tiny products; BLAS threads only add wake-up latency to them.
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        return _fit_predict(train_gram, test_gram, target_train, gram_targets, n_components, max_iter, tol)


def _fit_predict(train_gram, test_gram, target_train, gram_targets, n_components, max_iter, tol):
    n_train, n_targets = target_train.shape
    targets = target_train.copy()                     # Yk, deflated in place
    scores, a_weights, y_loadings = [], [], []        # t, Q_k a (so w = Xc^T Q_k a), y loadings
    for _ in range(n_components):
        near_zero = np.all(np.abs(targets) < 10 * _EPS, axis=0)
        targets[:, near_zero], gram_targets[:, near_zero] = 0.0, 0.0
        nonzero = np.flatnonzero(np.any(np.abs(targets) > _EPS, axis=0))
        if len(nonzero) == 0:
            break  # sklearn: "y residual is constant"; the remaining components stay zero
        cross = targets.T @ gram_targets              # M = Yk^T Kk Yk
        target_inner = targets.T @ targets            # S = Yk^T Yk
        score_inner = gram_targets.T @ gram_targets   # N = G^T G
        y_coef = np.zeros(n_targets)
        y_coef[nonzero[0]] = 1.0                      # u = Yk g starts at the first non-zero column
        x_coef_old = cross_x_old = None
        for _ in range(max_iter):
            x_coef = y_coef / (y_coef @ target_inner @ y_coef)             # a = u / u.u, in Yk coordinates
            cross_x = cross @ x_coef
            norm = np.sqrt(max(x_coef @ cross_x, 0.0)) + _EPS              # w /= |w| + eps
            x_coef, cross_x = x_coef / norm, cross_x / norm
            y_weights = cross_x / (x_coef @ score_inner @ x_coef)          # c = Yk^T t / t.t
            y_coef = y_weights / (y_weights @ y_weights + _EPS)            # u = Yk c / (c.c + eps)
            if n_targets == 1:
                break
            if x_coef_old is not None:
                change = x_coef @ cross_x + x_coef_old @ cross_x_old - 2 * x_coef @ cross_x_old  # |w - w_old|^2
                if change < tol:
                    break
            x_coef_old, cross_x_old = x_coef, cross_x
        score = gram_targets @ x_coef                 # t = Kk a
        score_norm = score @ score
        a_vector = targets @ x_coef
        if scores:
            previous = np.column_stack(scores)
            a_vector -= previous @ ((previous.T @ a_vector) / np.einsum("ij,ij->j", previous, previous))
        y_loading = targets.T @ score / score_norm
        # Deflate: Yk -= t l^T, and G = Kk Yk becomes Q Kk Q (Yk - t l^T) = Q Kk Q Yk (Q t = 0).
        gram_score = train_gram @ score
        if scores:
            gram_score -= previous @ ((previous.T @ gram_score) / np.einsum("ij,ij->j", previous, previous))
        score_gram_score = score @ gram_score
        score_targets = score @ targets
        gram_targets -= (np.outer(score, gram_score @ targets) + np.outer(gram_score, score_targets)) / score_norm
        gram_targets += np.outer(score, score_targets) * (score_gram_score / score_norm ** 2)
        targets -= np.outer(score, y_loading)
        scores.append(score)
        a_weights.append(a_vector)
        y_loadings.append(y_loading)
    if not scores:
        return np.zeros((test_gram.shape[0], n_targets))
    scores, a_weights, y_loadings = np.column_stack(scores), np.column_stack(a_weights), np.column_stack(y_loadings)
    # P^T W = diag(1/t.t) T^T K A, and (X_test - mean) W = test_gram A.
    loadings_weights = (scores.T @ (train_gram @ a_weights)) / (scores ** 2).sum(axis=0)[:, None]
    rotations = scipy.linalg.pinv(loadings_weights, check_finite=False)
    return (test_gram @ a_weights) @ rotations @ y_loadings.T
