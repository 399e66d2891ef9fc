"""sklearn's ``PLSRegression(scale=False)`` (NIPALS, mode A, regression deflation) rewritten in kernel form.

sklearn iterates its power method on the (n_train x n_features) matrix X. Every
quantity it touches can be written with the Gram matrix K = Xc Xc^T instead:

- the x weights are w = Xk^T a for an n-vector a, so ``w.w = a^T Kk a``
  and the x scores are ``t = Kk a``;
- every iterate of the y score lies in the span of the deflated targets Yk,
  u = Yk g, and one iteration maps g to M g up to a positive factor, with the
  q x q matrix M = Yk^T Kk Yk (q = number of neuroids); sklearn's stopping
  test, the squared change of the unit x weights, is a function of the inner
  products of consecutive iterates, so it runs on a block of iterates at once;
- deflating X by t is the projector Q = I - t t^T / t.t applied to the rows,
  so G = Kk Yk is updated in O(n q) per component and Kk is never formed.

The fits of several cross-validation splits run together, on arrays stacked
over fits: the power method goes on until every fit has stopped, and each
fit keeps its iterate of the iteration where sklearn stops. A component then
costs one call per operation for all fits, rather than Python's per-call
overhead once per fit and power iteration, and nothing depends on the number
of features.

The iterates are sklearn's up to positive factors (which do not change the
predictions) and rounding, and stop at the same iteration unless a change is
within rounding of tol, so the predictions agree with sklearn's to ~1e-12.
With one neuroid, 20+ components amplify rounding (sklearn's and ours) to up
to ~1e-7.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

_EPS = np.finfo(np.float64).eps
# Built once, after numpy and scipy have loaded their BLAS: building one scans every loaded library,
# which cost more than a small fit when done per call (threadpool_limits does it every time).
_THREADPOOLS = ThreadpoolController()
# Iterations of the power method between stopping tests.
_BLOCK = 16


def kernel_pls_predict(train_gram: np.ndarray, test_gram: np.ndarray, target_train: np.ndarray, *,
                       n_components: int = 25, max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Centred test prediction of ``PLSRegression(n_components, scale=False)`` fitted on centred data.

    One fit of :func:`kernel_pls_predict_splits`.

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
    return kernel_pls_predict_splits(train_gram[None], test_gram[None], target_train[None],
                                     n_components=n_components, max_iter=max_iter, tol=tol)[0]


def kernel_pls_predict_splits(train_grams: np.ndarray, test_grams: np.ndarray, targets_train: np.ndarray, *,
                              n_components: int = 25, max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """:func:`kernel_pls_predict` for several fits of the same sizes (e.g. cross-validation splits) at once.

    Each fit gets the result it gets alone; the loops run once for all of
    them, on stacked arrays.

    Parameters
    ----------
    train_grams : ndarray (n_fits, n_train, n_train)
    test_grams : ndarray (n_fits, n_test, n_train)
    targets_train : ndarray (n_fits, n_train, n_targets)
        Per fit, as ``train_gram``, ``test_gram`` and ``target_train`` of :func:`kernel_pls_predict`.

    Returns
    -------
    ndarray (n_fits, n_test, n_targets)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(30, 8)), rng.normal(size=(30, 3))
    >>> splits = [rng.permutation(30) for _ in range(3)]
    >>> def centred(train, test):
    ...     xc, mean = x[train] - x[train].mean(0), x[train].mean(0)
    ...     return xc @ xc.T, (x[test] - mean) @ xc.T, y[train] - y[train].mean(0)
    >>> grams, test_grams, targets = map(np.stack, zip(*(centred(order[:20], order[20:]) for order in splits)))
    >>> together = kernel_pls_predict_splits(grams, test_grams, targets, n_components=4)
    >>> alone = [kernel_pls_predict(*centred(order[:20], order[20:]), n_components=4) for order in splits]
    >>> together.shape, bool(np.allclose(together, alone, rtol=0, atol=1e-12))
    ((3, 10, 3), True)
    """
    # The component loop is thousands of small products; BLAS threads only add wake-up latency to them.
    # Once Xk is spent (a source of lower rank than n_components), M is rounding noise: the stopping test
    # may see 0/0 or square roots of negative numbers, which read as "not stopped".
    with _THREADPOOLS.limit(limits=1, user_api="blas"), np.errstate(divide="ignore", invalid="ignore"):
        return _fit_predict(train_grams, test_grams, targets_train, n_components, max_iter, tol)


def _fit_predict(train_grams, test_grams, targets_train, n_components, max_iter, tol):
    """The fits of :func:`kernel_pls_predict_splits`, on arrays stacked over fits on axis 0."""
    n_fits, n_train, n_targets = targets_train.shape
    # Yk and G = Kk Yk in one array, so that one product deflates both.
    deflated = np.empty((n_fits, 2, n_train, n_targets))
    targets, gram_targets = deflated[:, 0], deflated[:, 1]
    targets[...] = targets_train
    np.matmul(train_grams, targets_train, out=gram_targets)
    predictions = np.empty((n_fits, test_grams.shape[1], n_targets))
    fits = np.arange(n_fits)                                  # the original index of each fit still running
    scores = np.empty((n_fits, n_train, n_components))       # t
    a_weights = np.empty_like(scores)                         # Q_k a, so that w = Xc^T Q_k a
    y_loadings = np.empty((n_fits, n_targets, n_components))
    score_norms = np.empty((n_fits, n_components))            # t.t
    for component in range(n_components):
        largest = np.abs(targets).max(axis=1)
        near_zero = largest < 10 * _EPS
        if near_zero.any():
            zeroed = np.broadcast_to(near_zero[:, None, :], targets.shape)
            targets[zeroed], gram_targets[zeroed], largest[near_zero] = 0.0, 0.0, 0.0
        nonzero = largest > _EPS
        constant = ~nonzero.any(axis=1)
        if constant.any():
            # sklearn: "y residual is constant"; that fit ends here and its remaining components stay zero.
            # Dropping it from the stacks keeps the others free of its 0/0s.
            predictions[fits[constant]] = _predict(
                train_grams[constant], test_grams[constant], scores[constant, :, :component],
                a_weights[constant, :, :component], y_loadings[constant, :, :component])
            keep = ~constant
            fits, train_grams, test_grams, deflated, scores, a_weights, y_loadings, score_norms, nonzero = (
                array[keep] for array in (fits, train_grams, test_grams, deflated, scores, a_weights, y_loadings,
                                          score_norms, nonzero))
            targets, gram_targets = deflated[:, 0], deflated[:, 1]
            if not len(fits):
                return predictions
        x_coef = _power_method(targets, gram_targets, nonzero, max_iter, tol)
        score = np.matvec(gram_targets, x_coef)               # t = Kk a
        score_norm = np.vecdot(score, score)
        # Q_k a and Kk t, both projected off the previous scores.
        vectors = np.stack([np.matvec(targets, x_coef), np.matvec(train_grams, score)], axis=2)
        if component:
            previous = scores[:, :, :component]
            vectors -= np.matmul(previous, np.matmul(previous.mT, vectors) / score_norms[:, :component, None])
        a_vector, gram_score = vectors[..., 0], vectors[..., 1]
        score_gram_score = np.vecdot(score, gram_score)
        score_targets, gram_score_targets = np.moveaxis(np.matmul(np.stack([score, gram_score], axis=1), targets), 1, 0)
        y_loading = score_targets / score_norm[:, None]
        # Deflate: Yk -= t l^T, and G = Kk Yk becomes Q Kk Q (Yk - t l^T) = Q Kk Q Yk (Q t = 0):
        # G -= t ((Kk t)^T Yk / t.t - (t^T Kk t) t^T Yk / (t.t)^2)^T + (Kk t) (t^T Yk / t.t)^T.
        factors = np.zeros((len(fits), 2, 2, n_targets))     # [Yk, G] -= [t, Kk t] @ factors
        factors[:, 0, 0] = y_loading
        factors[:, 1, 0] = (gram_score_targets - score_targets * (score_gram_score / score_norm)[:, None]) \
            / score_norm[:, None]
        factors[:, 1, 1] = y_loading
        deflated -= np.matmul(np.stack([score, gram_score], axis=2)[:, None], factors)
        scores[:, :, component], a_weights[:, :, component] = score, a_vector
        y_loadings[:, :, component], score_norms[:, component] = y_loading, score_norm
    predictions[fits] = _predict(train_grams, test_grams, scores, a_weights, y_loadings)
    return predictions


def _power_method(targets, gram_targets, nonzero, max_iter, tol):
    """sklearn's power method for the first x weights, w = Xk^T Yk a; returns a, (n_fits, n_targets).

    sklearn's y score at iteration i is u_i = Yk M^i g up to a positive factor
    (M = Yk^T Kk Yk, g picks the first non-zero column), and it stops at the
    first i >= 1 where |w_i - w_(i-1)|^2 < tol, for the unit x weights w_i
    from u_i. So the loop only multiplies by M, one product for all fits, and
    tests a whole block of iterates for the stop at once.
    """
    n_fits, _, n_targets = targets.shape
    cross = np.matmul(targets.mT, gram_targets)
    directions = np.zeros((n_fits, n_targets))
    directions[np.arange(n_fits), nonzero.argmax(axis=1)] = 1.0
    if n_targets == 1:
        return _x_weights(targets, cross, directions)        # sklearn stops after one iteration
    # Dividing M by a power of two at or above its Frobenius norm (>= |M d| / |d|) cannot overflow the
    # iterates, nor round M; a block divides them by their norm once.
    frobenius = np.sqrt(np.vecdot(cross.reshape(n_fits, -1), cross.reshape(n_fits, -1)))
    cross_scaled = cross * np.exp2(-np.ceil(np.log2(np.where(frobenius > 0, frobenius, 1.0))))[:, None, None]
    # iterates[:, j] is d_(start-1+j), d_i = (scaled M)^i g; in the first block d_(-1) is a placeholder.
    iterates = np.empty((n_fits, _BLOCK + 2, n_targets))
    iterates[:, 0], iterates[:, 1] = directions, directions
    fits = np.arange(n_fits)                                 # the fits still iterating
    for start in range(0, max_iter, _BLOCK):
        for j in range(1, _BLOCK + 1):
            np.matvec(cross_scaled, iterates[:, j], out=iterates[:, j + 1])
        # M d_(i-1) = c d_i, so w_i.w_(i-1) / (|w_i| |w_(i-1)|) = d_i.d_i / sqrt((d_i.d_(i+1)) (d_(i-1).d_i)).
        consecutive = np.vecdot(iterates[:, :-1], iterates[:, 1:])
        cosine = np.vecdot(iterates[:, 1:-1], iterates[:, 1:-1]) / np.sqrt(consecutive[:, 1:] * consecutive[:, :-1])
        stops = 2 - 2 * cosine < tol                         # |w_i - w_(i-1)|^2 for unit w
        if start == 0:
            stops[:, 0] = False                              # sklearn's first difference is to w_old = 100
        if start + _BLOCK >= max_iter:
            stops[:, max_iter - 1 - start] = True            # sklearn gives up with the last iterate
        stopped = stops.any(axis=1)
        if stopped.any():
            directions[fits[stopped]] = iterates[stopped, stops[stopped].argmax(axis=1) + 1]
            fits, cross_scaled, iterates = fits[~stopped], cross_scaled[~stopped], iterates[~stopped]
            if not len(fits):
                break
        iterates[:, :2] = iterates[:, -2:] / np.sqrt(np.vecdot(iterates[:, -1], iterates[:, -1]))[:, None, None]
    return _x_weights(targets, cross, directions)


def _x_weights(targets, cross, directions):
    """sklearn's x weights for the y score u = Yk d: w = Xk^T u / u.u, w /= |w| + eps, as a in w = Xk^T Yk a.

    The guard against a negative a^T M a (rounding, once Xk is spent) keeps the
    result finite as sklearn's is.
    """
    score_target = np.matvec(targets, directions)
    x_coef = directions / np.vecdot(score_target, score_target)[:, None]
    norm = np.sqrt(np.maximum(np.vecdot(x_coef, np.matvec(cross, x_coef)), 0.0)) + _EPS   # |w|^2 = a^T M a
    return x_coef / norm[:, None]


def _predict(train_grams, test_grams, scores, a_weights, y_loadings):
    """(X_test - mean) W (P^T W)^+ C^T from the stacked components of fits that have the same number of them."""
    n_fits, n_test, n_targets = test_grams.shape[0], test_grams.shape[1], y_loadings.shape[1]
    if scores.shape[2] == 0:
        return np.zeros((n_fits, n_test, n_targets))
    # P^T W = diag(1/t.t) T^T K A, and (X_test - mean) W = test_gram A.
    loadings_weights = np.matmul(scores.mT, np.matmul(train_grams, a_weights)) / (scores ** 2).sum(axis=1)[:, :, None]
    # scipy's pinv, as sklearn's: numpy's batched one sets a different cut-off for small singular values.
    rotations = np.stack([scipy.linalg.pinv(matrix, check_finite=False) for matrix in loadings_weights])
    return np.matmul(np.matmul(np.matmul(test_grams, a_weights), rotations), y_loadings.mT)
