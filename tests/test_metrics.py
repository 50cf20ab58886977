"Exhaustive tests of drunlearn.metrics (the notebook 08_metrics holds the representative ones)."
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import balanced_accuracy_score, mean_absolute_error, mean_squared_error, mean_pinball_loss

from drunlearn.metrics import MAE, MSE, RMSE, Pinball, svc_mia, logreg_mia

# ---------------------------------------------------------------- streaming metrics

REFS = {MAE: mean_absolute_error, MSE: mean_squared_error,
        RMSE: lambda t, p: np.sqrt(mean_squared_error(t, p))}

@pytest.mark.parametrize('cls', [MAE, MSE, RMSE])
@pytest.mark.parametrize('shape', [(1,), (7,), (100,), (50, 3)])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_streaming_matches_sklearn(cls, shape, dtype):
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    got = cls().update(p, y).compute()
    ref = REFS[cls](y.astype(np.float64), p.astype(np.float64))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    if len(shape) == 2:
        per = cls(per_output=True).update(p, y).compute()
        np.testing.assert_allclose(per, [REFS[cls](y[:, j].astype(np.float64), p[:, j].astype(np.float64)) for j in range(shape[1])], rtol=1e-12)

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), cuts=st.lists(st.integers(0, 300), max_size=6), seed=st.integers(0, 10**6))
def test_chunked_equals_one_shot(n, cuts, seed):
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=(n, 2)) * 10, rng.normal(size=(n, 2))
    edges = sorted(c % (n + 1) for c in cuts)
    for cls in (MAE, MSE, RMSE, lambda: Pinball([0.2, 0.8])):
        one = cls().update(p, y).compute()
        m = cls()
        for pc, yc in zip(np.split(p, edges), np.split(y, edges)): m.update(pc, yc)
        np.testing.assert_allclose(m.compute(), one, rtol=1e-12)
        # merging two partial states is the same again
        k = edges[0] if edges else n // 2
        a, b = cls().update(p[:k], y[:k]), cls().update(p[k:], y[k:])
        np.testing.assert_allclose(a.merge(b).compute(), one, rtol=1e-12)

def test_merge_into_empty_and_of_empty():
    y, p = np.arange(5.), np.arange(5.) + 1
    a = MAE().merge(MAE().update(p, y))
    assert a.compute() == 1.0 and a.count == 5
    assert MAE().update(p, y).merge(MAE()).compute() == 1.0

def test_merge_refuses_other_settings():
    with pytest.raises(ValueError, match='same settings'): MAE().merge(MAE(per_output=True))
    with pytest.raises(ValueError, match='same settings'): Pinball([0.1]).merge(Pinball([0.2]))
    with pytest.raises(ValueError, match='output columns'):
        MAE().update(np.zeros((2, 2)), np.zeros((2, 2))).merge(MAE().update(np.zeros(2), np.zeros(2)))

def test_rmse_is_not_a_mean_of_batch_rmses():
    y, p = np.zeros(3), np.array([0., 0., 3.])
    m = RMSE().update(p[:2], y[:2]).update(p[2:], y[2:])
    assert m.compute() == pytest.approx(np.sqrt(3.))
    assert m.compute() != pytest.approx(np.mean([0., 3.]))

def test_reset_and_column_mismatch():
    m = MSE().update(np.ones(3), np.zeros(3))
    assert m.reset().count == 0
    with pytest.raises(ValueError, match='seen no rows'): m.compute()
    m.update(np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match='earlier updates had 2'): m.update(np.ones(3), np.zeros(3))

def test_streaming_accepts_tensors_and_column_vectors():
    y = torch.arange(6.)
    p = (y + 2).reshape(6, 1)   # a model's (n, 1) output against (n,) targets
    assert MAE().update(p, y).compute() == 2.0
    assert MSE().update(p.numpy(), y.numpy()).compute() == 4.0

@pytest.mark.parametrize('q', [[0.1], [0.1, 0.5, 0.9]])
def test_pinball_matches_sklearn(q):
    rng = np.random.default_rng(2)
    y, p = rng.normal(size=80), rng.normal(size=(80, len(q)))
    per = Pinball(q, per_output=True).update(p, y).compute()
    np.testing.assert_allclose(per, [mean_pinball_loss(y, p[:, j], alpha=a) for j, a in enumerate(q)], rtol=1e-12)
    np.testing.assert_allclose(Pinball(q).update(p, y).compute(), np.mean(per), rtol=1e-12)
    # targets given per column are the same
    np.testing.assert_allclose(Pinball(q, per_output=True).update(p, np.repeat(y[:, None], len(q), 1)).compute(), per, rtol=1e-12)

@pytest.mark.parametrize('bad, match', [
    (dict(preds=np.zeros(3), targets=np.zeros(4)), 'mismatched lengths'),
    (dict(preds=np.zeros((3, 2)), targets=np.zeros((3, 3))), 'same shape'),
    (dict(preds=np.zeros((3, 2, 2)), targets=np.zeros((3, 2, 2))), 'preds must have 1 or 2 dimension'),
    (dict(preds=np.array([0., np.nan]), targets=np.zeros(2)), 'preds contains 1 NaN or inf'),
    (dict(preds=np.zeros(2), targets=np.array([np.inf, 1.])), 'targets contains 1 NaN or inf'),
    (dict(preds=np.array(['a', 'b']), targets=np.zeros(2)), 'preds must be numeric'),
])
def test_streaming_errors(bad, match):
    with pytest.raises(ValueError, match=match): MAE().update(**bad)

def test_pinball_errors():
    for q in (0., 1., [0.5, -0.1], [np.nan]):
        with pytest.raises(ValueError, match='quantiles'): Pinball(q)
    with pytest.raises(ValueError, match='2 column'): Pinball([0.5]).update(np.zeros((4, 2)), np.zeros(4))

# ---------------------------------------------------------------- membership-inference attacks

def _groups(seed=0, f=1):
    rng = np.random.default_rng(seed)
    return (rng.exponential(0.3, (400, f)), rng.exponential(1.0, (250, f)), rng.exponential(0.5, (120, f)))

def _direct_svc(members, nonmembers, targets, n_samples, seed):
    "The paper's attack written out with scikit-learn, with the documented draw (members first, sorted indices)."
    rng = np.random.default_rng(seed)
    k = min(len(members), len(nonmembers)) if n_samples is None else n_samples
    def draw(a): return a if k >= len(a) else a[np.sort(rng.choice(len(a), k, replace=False))]
    m, nm = draw(members), draw(nonmembers)
    clf = SVC(C=3, gamma='auto', kernel='rbf').fit(np.concatenate([m, nm]), np.r_[np.ones(len(m)), np.zeros(len(nm))])
    return clf.predict(targets).mean()

@pytest.mark.parametrize('n_samples', [None, 50, 250, 1000])
@pytest.mark.parametrize('seed', [0, 7])
@pytest.mark.parametrize('f', [1, 3])
def test_svc_mia_is_the_sklearn_pipeline(n_samples, seed, f):
    m, nm, tg = _groups(seed, f)
    assert svc_mia(m, nm, tg, n_samples=n_samples, seed=seed) == _direct_svc(m, nm, tg, n_samples, seed)

def test_svc_mia_1d_and_tensor_inputs_and_determinism():
    m, nm, tg = _groups(3)
    ref = svc_mia(m, nm, tg, seed=4)
    assert svc_mia(m[:, 0], torch.tensor(nm[:, 0]), tg[:, 0], seed=4) == ref
    assert svc_mia(m, nm, tg, seed=4) == ref
    assert 0 <= ref <= 1

def test_svc_mia_separates():
    m, nm, _ = _groups(5)
    rng = np.random.default_rng(9)
    assert svc_mia(m, nm, rng.exponential(0.3, 200)) > svc_mia(m, nm, rng.exponential(1.0, 200)) + 0.3

@pytest.mark.parametrize('kw, match', [
    (dict(members=[]), 'members is empty'),
    (dict(nonmembers=np.full(5, np.nan)), 'nonmembers contains 5 NaN'),
    (dict(targets=np.zeros((3, 2))), 'same number of features'),
    (dict(targets=np.zeros((3, 1, 1))), 'targets must have 1 or 2 dimension'),
    (dict(n_samples=-1), 'n_samples must be a positive integer'),
    (dict(n_samples=2.5), 'n_samples must be a positive integer'),
    (dict(seed=-2), 'seed must be a non-negative integer'),
])
def test_svc_mia_errors(kw, match):
    args = dict(members=np.ones(5), nonmembers=np.zeros(5), targets=np.ones(3)) | kw
    with pytest.raises(ValueError, match=match): svc_mia(args.pop('members'), args.pop('nonmembers'), args.pop('targets'), **args)

@pytest.mark.parametrize('n_samples, cv, seed', [(None, 5, 0), (100, 3, 1), (None, 2, 11)])
def test_logreg_mia_is_the_sklearn_pipeline(n_samples, cv, seed):
    _, nm, tg = _groups(seed, 2)
    rng = np.random.default_rng(seed)
    def draw(a): return a if n_samples is None or n_samples >= len(a) else a[np.sort(rng.choice(len(a), n_samples, replace=False))]
    m2, nm2 = draw(tg), draw(nm)
    x, y = np.concatenate([m2, nm2]), np.r_[np.ones(len(m2)), np.zeros(len(nm2))]
    clf = make_pipeline(StandardScaler(), LogisticRegression(class_weight='balanced', max_iter=1000))
    ref = balanced_accuracy_score(y, cross_val_predict(clf, x, y, cv=StratifiedKFold(cv, shuffle=True, random_state=seed)))
    assert logreg_mia(tg, nm, cv=cv, n_samples=n_samples, seed=seed) == ref

def test_logreg_mia_values():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (300, 2)), rng.normal(0, 1, (300, 2))
    assert abs(logreg_mia(a, b) - 0.5) < 0.1          # same distribution: chance
    assert logreg_mia(a + 3, b) > 0.95                # shifted: found
    with pytest.raises(ValueError, match='cv must be at least 2'): logreg_mia(a, b, cv=1)
    with pytest.raises(ValueError, match='same number of features'): logreg_mia(a, b[:, :1])
    with pytest.raises(ValueError, match='smaller group'): logreg_mia(a[:4], b)
