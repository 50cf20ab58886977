"Exhaustive checks of drunlearn.kernels against NumPy, SciPy and scikit-learn references (nbs/03_kernels.ipynb shows the ideas)."
import os, subprocess, sys
import numpy as np
import pytest
from hypothesis import given, settings, assume, strategies as st
from hypothesis.extra import numpy as hnp
from scipy.stats import wasserstein_distance
from sklearn.metrics import roc_auc_score, roc_curve
from drunlearn import kernels as K
from drunlearn.kernels import mia_features, row_l2_dist, activation_distance, wasserstein_1d, roc_auc, tpr_at_fpr

K._threads()   # start Numba's pool as the public functions do (passive waiting) before tests call kernels directly
DTYPES = [np.float32, np.float64]
BIG = K._PAR_MIN + 13                      # takes the parallel paths
SIZES = [0, 1, 2, 7, 1000, BIG]
HYP = settings(max_examples=40, deadline=None)

def rng(seed=0): return np.random.default_rng(seed)

def cols(x): x = np.asarray(x); return x[:, None] if x.ndim == 1 else x

def tol(dt): return dict(rtol=2e-6, atol=1e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)

def frozen(*arrays):
    "Copies, to check afterwards that nothing the caller gave was modified."
    return [np.array(a, copy=True) for a in arrays]

def views(x):
    "x itself and non-contiguous views of the same values."
    out = [x]
    big = np.repeat(x, 2, axis=0); out.append(big[::2])                   # strided rows
    if x.ndim == 2: out.append(np.asfortranarray(x))                      # column-major
    return out

def test_import_is_torch_free_and_threads_wait_passively():
    "The module imports no torch; its first parallel call starts Numba's pool with OMP_WAIT_POLICY=PASSIVE, then removes it."
    code = ("import os, sys, numpy as np; from drunlearn import kernels as K; assert 'torch' not in sys.modules, 'torch imported';"
            "K._sorted_copy(np.random.rand(K._SORT_PAR_MIN)); assert 'OMP_WAIT_POLICY' not in os.environ; assert K._pool_started")
    env = {k: v for k, v in os.environ.items() if k != 'OMP_WAIT_POLICY'} | {'NUMBA_NUM_THREADS': '2'}   # a parallel call
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr

def test_public_names():
    "Only the kernels are public; sorting, checks and tuning constants are private machinery."
    assert K.__all__ == ['MIA_FEATURES', 'mia_features', 'row_l2_dist', 'activation_distance', 'wasserstein_1d',
                         'roc_auc', 'tpr_at_fpr']

# ---------------------------------------------------------------- MIA features
def mia_ref(P, T):
    P = cols(P).astype(np.float64); T = np.broadcast_to(cols(T), P.shape).astype(np.float64)
    d = P - T
    return np.column_stack([np.abs(d).mean(1), (d ** 2).mean(1), d.mean(1), T.mean(1)])

@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize('n', SIZES)
@pytest.mark.parametrize('k', [None, 1, 3])
def test_mia_features_match_reference(dt, n, k):
    r = rng(n)
    shape = (n,) if k is None else (n, k)
    P, T = r.normal(size=shape).astype(dt), r.normal(size=shape).astype(dt)
    for Pv, Tv in zip(views(P), views(T)):
        got = mia_features(Pv, Tv)
        assert got.shape == (n, 4) and got.dtype == dt
        np.testing.assert_allclose(got, mia_ref(Pv, Tv), **tol(dt))
    if k: np.testing.assert_allclose(mia_features(P, T[:, 0]), mia_ref(P, T[:, 0]), **tol(dt))
    assert K.MIA_FEATURES == ('abs_loss', 'sq_loss', 'residual', 'target')

def test_mia_features_types():
    assert mia_features(np.ones(4, np.float32), np.zeros(4)).dtype == np.float64             # common type
    assert mia_features([1, 2], [True, False]).dtype == np.float64                           # ints and bools become float64
    np.testing.assert_array_equal(mia_features([2.], [3.]), [[1., 1., -1., 3.]])            # residual: preds - targets
    np.testing.assert_array_equal(mia_features([1e200], [-1e200])[:, 1], [np.inf])          # overflow of finite inputs: inf

@pytest.mark.parametrize('n', [3, BIG])
def test_mia_features_refuse_nonfinite(n):
    for bad in (np.nan, np.inf, -np.inf):
        p, t = np.ones(n), np.ones(n)
        p[n // 2] = bad
        with pytest.raises(ValueError, match='preds contains 1 NaN or inf'): mia_features(p, t)
        with pytest.raises(ValueError, match='targets contains 1 NaN or inf'): mia_features(t, p)

def test_mia_features_refusals():
    with pytest.raises(ValueError, match='mismatched lengths: preds has 3, targets has 4'): mia_features(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r'targets must have shape \(n,\), \(n, 1\)'): mia_features(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match='preds must have 1 or 2 dimension'): mia_features(np.ones((1, 1, 1)), np.ones(1))
    with pytest.raises(ValueError, match='targets must have 1 or 2 dimension'): mia_features(np.ones(1), 1.)
    with pytest.raises(ValueError, match='preds must be real numbers'): mia_features(np.array(['a']), np.ones(1))
    with pytest.raises(ValueError, match='preds must be real numbers'): mia_features(np.ones(1) + 1j, np.ones(1))
    with pytest.raises(ValueError, match='targets is required'): mia_features(np.ones(1), None)
    with pytest.raises(ValueError, match='preds has no outputs per sample'): mia_features(np.ones((3, 0)), np.ones(3))

# ---------------------------------------------------------------- activation distance
def dist_ref(a, b):
    a = np.asarray(a, np.float64).reshape(len(a), -1); b = np.asarray(b, np.float64).reshape(len(b), -1)
    return np.linalg.norm(a - b, axis=1)

@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize('shape', [(1, 1), (2, 3), (7, 5), (33, 1), (5000, 17), (3, 40000), (1, 70001), (6, 4, 3, 3)])
def test_activation_distance_matches_numpy(dt, shape):
    r = rng(len(shape)); a, b = r.normal(size=shape).astype(dt), r.normal(size=shape).astype(dt)
    cands = [(a, b), (a[::-1], b[::-1])]
    if a.ndim == 2 and a.shape[1] > 1: cands += [(a[:, ::2], b[:, ::2]), (np.asfortranarray(a), np.asfortranarray(b))]
    if a.ndim == 4: cands += [(a[:, :, ::2], b[:, :, ::2]), (a.transpose(0, 2, 3, 1), b.transpose(0, 2, 3, 1))]
    rtol = 1e-5 if dt == np.float32 else 1e-11
    for x, y in cands:
        before = frozen(x, y)
        ref = dist_ref(x, y)
        got = row_l2_dist(x, y)
        assert got.dtype == np.float64 and got.shape == (len(x),)
        np.testing.assert_allclose(got, ref, rtol=rtol)
        np.testing.assert_allclose(activation_distance(x, y), ref.mean(), rtol=rtol)
        for u, v in zip(before, (x, y)): np.testing.assert_array_equal(u, v)

def test_activation_distance_shapes_and_edges():
    r = rng(5); p, t = r.normal(size=100), r.normal(size=100)
    np.testing.assert_allclose(activation_distance(p, t), np.abs(p - t).mean(), rtol=1e-13)
    np.testing.assert_allclose(activation_distance(p[:, None], t), np.abs(p - t).mean(), rtol=1e-13)
    np.testing.assert_allclose(activation_distance(p.reshape(10, 1, 10), t.reshape(10, 10)), dist_ref(p.reshape(10, 10), t.reshape(10, 10)).mean(), rtol=1e-13)
    np.testing.assert_allclose(activation_distance(p.astype(np.float32), t), np.abs(p.astype(np.float32) - t).mean(), rtol=1e-12)
    assert activation_distance(p, p) == 0.
    assert row_l2_dist(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
    np.testing.assert_array_equal(row_l2_dist(np.zeros((3, 0)), np.zeros((3, 0))), np.zeros(3))
    assert activation_distance([[3., 4.]], [[0., 0.]]) == 5.

def test_activation_distance_refusals():
    with pytest.raises(ValueError, match='a is empty'): activation_distance(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match='mismatched lengths: a has 3, b has 2'): activation_distance(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match='same shape per sample'): activation_distance(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match='same shape per sample'): row_l2_dist(np.ones((3, 2, 3)), np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match='b must have a first axis'): activation_distance(np.ones(1), 1.)
    for shape in [(4, 3), (5000, 20), (2, 70000)]:
        a, b = np.ones(shape), np.ones(shape)
        b.flat[b.size // 2] = np.nan
        with pytest.raises(ValueError, match='b contains 1 NaN or inf'): activation_distance(a, b)
        with pytest.raises(ValueError, match='a contains 1 NaN or inf'): row_l2_dist(b, a)

@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), elements=st.floats(-1e3, 1e3)),
       st.integers(0, 2**32 - 1))
@HYP
def test_activation_distance_property(a, seed):
    b = np.random.default_rng(seed).normal(size=a.shape)
    ref = dist_ref(a, b)
    np.testing.assert_allclose(row_l2_dist(a, b), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(activation_distance(a, b), ref.mean(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(activation_distance(a, b), activation_distance(b, a), rtol=1e-15)

# ---------------------------------------------------------------- sorting
@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize('kind', ['normal', 'ties', 'special', 'constant', 'ints', 'tiny'])
@pytest.mark.parametrize('n', [5, K._RADIX_MIN + 1, K._SORT_PAR_MIN + 1])
def test_sorted_copy_is_sorted(dt, kind, n):
    r = rng(n)
    x = {'normal': lambda: r.normal(size=n) * 1e3, 'ties': lambda: np.round(r.normal(size=n), 1),
         'constant': lambda: np.full(n, -2.5), 'ints': lambda: r.integers(-3, 1000, n).astype(float),
         'tiny': lambda: r.normal(size=n) * 1e-40,
         'special': lambda: np.r_[[0., -0., np.inf, -np.inf, np.nextafter(0, 1), -np.nextafter(0, 1), np.finfo(dt).max, np.finfo(dt).min], r.normal(size=n)]}[kind]()
    x = x.astype(dt)[::-1]                                       # a reversed (non-contiguous) view
    before = x.copy()
    s, w = K._sorted_copy(x)
    assert s.dtype == dt and w is None
    np.testing.assert_array_equal(s, np.sort(x))
    np.testing.assert_array_equal(x, before)
    wts = r.random(len(x))
    s, w = K._sorted_copy(x, wts)
    o = np.lexsort((np.arange(len(x)), (x == 0) & ~np.signbit(x), x))   # stable, -0.0 before +0.0
    np.testing.assert_array_equal(s, x[o]); np.testing.assert_array_equal(w, wts[o])

def test_parallel_kernels_with_any_chunking():
    "The parallel kernels give the serial answer for any number of chunks, more or fewer than the threads."
    r = rng(9); x = r.normal(size=K._RADIX_MIN * 3 + 1); w = r.random(len(x))
    args = (x.view(np.uint64), np.uint64(1) << np.uint64(63), np.arange(0, 64, 8).astype(np.uint64), np.uint64(255), w)
    ref = np.lexsort((np.arange(len(x)), x))
    for T in (1, 3, 5):
        s, ws = K._radix_sort_par(*args, T)
        np.testing.assert_array_equal(s.view(np.float64), x[ref]); np.testing.assert_array_equal(ws, w[ref])
    lab = (r.random(len(x)) < .3).astype(np.uint8)
    for T in (1, 3, 7):
        out, P, bad, chk = K._split_par(x, lab, T)
        np.testing.assert_array_equal(out, np.r_[x[lab == 1], x[lab == 0]])
        assert P == lab.sum() and bad == 0 and chk == 0
    np.testing.assert_array_equal(K._split_serial(x, lab)[0], np.r_[x[lab == 1], x[lab == 0]])
    a, b = r.normal(size=(3, 3 * 16384 + 5)), r.normal(size=(3, 3 * 16384 + 5))
    for T in (1, 64):                                  # 64 threads: the few-long-rows (column block) path
        out = np.empty(3)
        np.testing.assert_allclose(K._row_dists_par(a, b, out, T), dist_ref(a, b).sum(), rtol=1e-12)
        np.testing.assert_allclose(out, dist_ref(a, b), rtol=1e-12)

def test_one_thread_is_serial_and_same():
    import numba
    x, l = rng(4).normal(size=K._SORT_PAR_MIN + 1), rng(5).random(K._SORT_PAR_MIN + 1) < .5
    many = K._sorted_copy(x)[0], roc_auc(x, l), activation_distance(x, x[::-1])
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1); one = K._sorted_copy(x)[0], roc_auc(x, l), activation_distance(x, x[::-1])
    finally: numba.set_num_threads(old)
    np.testing.assert_array_equal(one[0], many[0]); assert one[1] == many[1]
    np.testing.assert_allclose(one[2], many[2], rtol=1e-13)

# ---------------------------------------------------------------- Wasserstein-1
@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize('n,m', [(1, 1), (1, 6), (7, 3), (100, 1000), (K._RADIX_MIN + 3, 2 * K._RADIX_MIN), (K._SORT_PAR_MIN + 1, 5)])
@pytest.mark.parametrize('ties', [False, True])
def test_wasserstein_matches_scipy(dt, n, m, ties):
    r = rng(n + m)
    u, v = r.normal(size=n).astype(dt), (r.exponential(size=m) - .5).astype(dt)
    if ties: u, v = np.round(u, 1), np.round(v, 1)
    rt = 1e-6 if dt == np.float32 else 1e-10
    before = frozen(u, v)
    np.testing.assert_allclose(wasserstein_1d(u, v), wasserstein_distance(u, v), rtol=rt, atol=1e-12)
    np.testing.assert_allclose(wasserstein_1d(u[::-1], v[::-1]), wasserstein_distance(u, v), rtol=rt, atol=1e-12)
    uw, vw = r.random(n), r.random(m)
    uw[0] = 0 if n > 1 else uw[0]                               # zero weights are allowed
    np.testing.assert_allclose(wasserstein_1d(u, v, uw, vw), wasserstein_distance(u, v, uw, vw), rtol=rt, atol=1e-12)
    np.testing.assert_allclose(wasserstein_1d(u, v, v_weights=vw), wasserstein_distance(u, v, None, vw), rtol=rt, atol=1e-12)
    for a, b in zip(before, (u, v)): np.testing.assert_array_equal(a, b)

def test_wasserstein_shapes_and_edges():
    assert wasserstein_1d([3.], [1.]) == 2.
    assert wasserstein_1d([1., 2.], [2., 1.]) == 0.
    assert wasserstein_1d(np.array([[1.], [2.]]), [1.5]) == .5                   # (n, 1) samples
    assert wasserstein_1d([0., 1.], [0., 1.], [1., 0.], [0., 1.]) == 1.
    assert wasserstein_1d([0., 1.], [0., 1.], [2., 2.], [1., 1.]) == 0.          # only ratios matter
    np.testing.assert_allclose(wasserstein_1d([0, 1, 3], [5, 6, 8]), wasserstein_distance([0, 1, 3], [5, 6, 8]))

def test_wasserstein_refusals():
    with pytest.raises(ValueError, match='u is empty'): wasserstein_1d([], [1.])
    with pytest.raises(ValueError, match='v is empty'): wasserstein_1d([1.], np.zeros((0, 1)))
    with pytest.raises(ValueError, match='u must be a 1-D sample'): wasserstein_1d(np.ones((3, 2)), [1.])
    with pytest.raises(ValueError, match='u_weights has 2 values but its sample has 1'): wasserstein_1d([1.], [1.], [1., 1.])
    with pytest.raises(ValueError, match='v_weights must be non-negative'): wasserstein_1d([1.], [1., 2.], None, [1., -1.])
    with pytest.raises(ValueError, match='u_weights must sum to more than 0'): wasserstein_1d([1., 2.], [1.], [0., 0.])
    with pytest.raises(ValueError, match='u_weights contains 1 NaN'): wasserstein_1d([1., 2.], [1.], [0., np.nan])
    for n in (4, K._RADIX_MIN + 1, K._SORT_PAR_MIN + 1):
        for bad in (np.nan, np.inf, -np.inf, -np.nan):
            v = np.ones(n); v[n // 3] = bad
            with pytest.raises(ValueError, match='v contains 1 NaN or inf'): wasserstein_1d(np.ones(3), v)
            with pytest.raises(ValueError, match='u contains 1 NaN or inf'): wasserstein_1d(v, np.ones(3))

@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=30), st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=30),
       st.booleans(), st.floats(-100, 100))
@HYP
def test_wasserstein_property(u, v, weighted, c):
    u, v = np.array(u), np.array(v)
    uw = np.linspace(1, 2, len(u)) if weighted else None
    ref = wasserstein_distance(u, v, uw)
    got = wasserstein_1d(u, v, uw)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got, wasserstein_1d(v, u, None, uw), rtol=1e-12, atol=1e-12)       # symmetric
    np.testing.assert_allclose(wasserstein_1d(u, u + c), abs(c), rtol=1e-9, atol=1e-8)                # a shift moves it by |c|

# ---------------------------------------------------------------- ROC AUC and TPR at FPR
def tpr_ref(s, l, f):
    "The documented definition, from scikit-learn's full ROC curve."
    fp, tp, _ = roc_curve(l, s, drop_intermediate=False)
    return tp[fp <= f].max()

FPRS = [0., .001, .01, .05, .1, 1 / 3, .5, .99, 1.]

@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize('n', [2, 3, 10, 1001, BIG])
@pytest.mark.parametrize('ties', [False, True])
def test_roc_matches_sklearn(dt, n, ties):
    r = rng(n)
    l = r.random(n) < .3; l[0], l[1] = True, False
    s = r.normal(size=n) + l
    if ties: s = np.round(s)
    s = s.astype(dt)
    before = frozen(s, l)
    ref = roc_auc_score(l, s)
    for lab in (l, l.astype(int), l.astype(np.float32), l.astype(np.uint8)):
        np.testing.assert_allclose(roc_auc(s, lab), ref, rtol=1e-12)
    np.testing.assert_allclose(roc_auc(s[::-1], l[::-1]), ref, rtol=1e-12)           # non-contiguous
    np.testing.assert_allclose(roc_auc(-s, l), 1 - ref, rtol=1e-12, atol=1e-12)
    fp, tp, _ = roc_curve(l, s, drop_intermediate=False)
    for f in FPRS + [k / (~l).sum() for k in (1, 2, 3) if k < (~l).sum()]:          # incl. exact k/N boundaries
        assert tpr_at_fpr(s, l, f) == tp[fp <= f].max(), f
    for a, b in zip(before, (s, l)): np.testing.assert_array_equal(a, b)

@pytest.mark.parametrize('dt', DTYPES, ids=lambda d: d.__name__)
def test_roc_parallel_sort_path(dt):
    r = rng(11); n = 3 * K._SORT_PAR_MIN
    l = r.random(n) < .5; s = (r.normal(size=n) + l).astype(dt)
    s[::7] = np.round(s[::7])                                                    # some ties
    np.testing.assert_allclose(roc_auc(s, l), roc_auc_score(l, s), rtol=1e-12)
    fp, tp, _ = roc_curve(l, s, drop_intermediate=False)
    for f in (0., 1e-4, .01, .3):
        assert tpr_at_fpr(s, l, f) == tp[fp <= f].max(), f

def test_roc_refusals():
    with pytest.raises(ValueError, match=r'only one class \(0 positive, 3 negative\)'): roc_auc([1., 2., 3.], [0, 0, 0])
    with pytest.raises(ValueError, match='only one class'): tpr_at_fpr([1.], [True], .1)
    with pytest.raises(ValueError, match='scores is empty'): roc_auc([], [])
    with pytest.raises(ValueError, match='2 value.s. are neither'): roc_auc([1., 2., 3.], [0, 2, -1])
    with pytest.raises(ValueError, match='1 value.s. are neither'): roc_auc([1., 2., 3.], [0, 1, np.nan])
    with pytest.raises(ValueError, match='labels must be 0/1 or booleans'): roc_auc([1., 2.], ['a', 'b'])
    with pytest.raises(ValueError, match='labels must have 1 dimension'): roc_auc([1., 2.], [[0, 1]])
    with pytest.raises(ValueError, match='scores must have 1 dimension'): roc_auc([[1., 2.]], [0, 1])
    with pytest.raises(ValueError, match='mismatched lengths: scores has 2, labels has 3'): roc_auc([1., 2.], [0, 1, 1])
    for f in (-.1, 1.1, np.nan, '0.1', True):
        with pytest.raises(ValueError, match=r'fpr must be a number in \[0, 1\]'): tpr_at_fpr([1., 2.], [0, 1], f)
    for n in (5, BIG):
        s, l = np.arange(float(n)), np.arange(n) % 2
        s[n - 2] = np.nan
        with pytest.raises(ValueError, match='scores contains 1 NaN'): roc_auc(s, l)
        with pytest.raises(ValueError, match='scores contains 1 NaN'): tpr_at_fpr(s, l)
        l[3] = 5
        with pytest.raises(ValueError, match='1 value.s. are neither'): roc_auc(np.arange(float(n)), l)

@given(st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=2, max_size=40), st.floats(0, 1))
@HYP
def test_roc_property(pairs, f):
    s = np.array([p[0] for p in pairs], float); l = np.array([p[1] for p in pairs])
    assume(l.any() and not l.all())
    np.testing.assert_allclose(roc_auc(s, l), roc_auc_score(l, s), rtol=1e-12)
    assert tpr_at_fpr(s, l, f) == tpr_ref(s, l, f)
    assert 0 <= tpr_at_fpr(s, l, f) <= tpr_at_fpr(s, l, min(1., f + .1)) <= 1       # monotone in the budget
