"Exhaustive tests of the metrics, distances, attacks, AIN and evaluate_unlearning (the notebooks 12-16 hold the representative ones)."
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import balanced_accuracy_score, mean_absolute_error, mean_squared_error, mean_pinball_loss

from drunlearn.metrics import MAE, MSE, RMSE, Pinball

from drunlearn.attacks import svc_mia, logreg_mia

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
    (dict(preds=np.array(['a', 'b']), targets=np.zeros(2)), 'preds must be real numbers'),
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

# ---------------------------------------------------------------- models: features, distances, AIN, evaluate_unlearning

from scipy.stats import wasserstein_distance
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn
from drunlearn.core import state_fingerprint, same_state, copy_model, set_seed
from drunlearn.data import ArrayDataset, ForgetSplit
from drunlearn.models import MLP
from drunlearn.train import fit, predict
from drunlearn.attacks import MIA_FEATURES, attack_features, loss_threshold_mia
from drunlearn.distances import prediction_w1, output_distance, relative_difference, hidden_distances
from drunlearn.ain import relearn_steps, anamnesis_index
from drunlearn.evaluation import evaluate_unlearning

def _task(n, seed, noise=0.3):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, 4)).astype(np.float32)
    return ArrayDataset(x, (x @ np.array([1., -2., .5, 1.5]) + 1 + noise * g.normal(size=n)).astype(np.float32))

class DropMLP(nn.Module):
    "An MLP with dropout: its predictions differ between train and eval mode."
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(32, 1)
    def forward(self, x): return self.head(self.body(x))

@pytest.fixture(scope='module')
def setup():
    torch.set_num_threads(1)
    train, test = _task(256, 0), _task(160, 1)
    split = ForgetSplit.from_range(train, low=3.)
    tsplit = split.apply(test)
    def trained(data, seed, model=None, epochs=15, lr=0.01):
        set_seed(seed); model = model or MLP(4, hidden=(16, 16))
        fit(model, data, loss='l1', epochs=epochs, lr=lr, batch_size=32, seed=seed, progress=False)
        return model.eval()
    original = trained(train, 0)
    retrain = trained(split.retain, 1)
    finetune = trained(split.retain, 2, model=copy_model(original), epochs=2, lr=1e-3)
    return dict(train=train, test=test, split=split, tsplit=tsplit,
                models=dict(original=original, retrain=retrain, finetune=finetune))

AIN = dict(lr=0.01, batch_size=32, max_epochs=3)

def test_attack_features_match_a_direct_computation(setup):
    m, ds = setup['models']['original'], setup['split'].forget
    p = predict(m, ds).reshape(-1).astype(np.float64)
    y = setup['split'].targets[setup['split'].forget_mask].astype(np.float64)
    f = attack_features(m, ds)
    assert f.shape == (len(y), len(MIA_FEATURES))
    np.testing.assert_allclose(f, np.stack([np.abs(p - y), (p - y)**2, p - y, y], 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(attack_features(m, ds, features=['target', 'abs_loss']), f[:, [3, 0]])
    np.testing.assert_allclose(attack_features(m, (setup['train'].x, setup['train'].y))[:, 3], setup['train'].y.numpy())

def test_attack_features_uses_eval_mode_and_restores_it():
    set_seed(0); m = DropMLP().train()
    ds = _task(50, 3)
    a, b = attack_features(m, ds), attack_features(m, ds)
    np.testing.assert_array_equal(a, b)          # dropout off: deterministic
    assert m.training and m.body[2].training     # the flags are restored
    m.body.eval()                                # mixed flags are restored module by module
    attack_features(m, ds)
    assert m.training and not m.body.training and not m.body[2].training

def test_attack_features_errors(setup):
    m = setup['models']['original']
    with pytest.raises(ValueError, match='data is empty'): attack_features(m, torch.utils.data.Subset(setup['test'], []))
    with pytest.raises(ValueError, match='features is empty'): attack_features(m, setup['test'], features=[])
    with pytest.raises(ValueError, match='mismatched lengths'): attack_features(m, setup['test'], targets=np.zeros(3))
    with pytest.raises(ValueError, match='batch_size must be a positive integer'): attack_features(m, setup['test'], batch_size=0)
    bad = copy_model(m)
    with torch.no_grad(): bad.state_dict()[next(iter(bad.state_dict()))].fill_(float('nan'))
    with pytest.raises(ValueError, match='predicted NaN or inf'): attack_features(bad, setup['test'])

def test_loss_threshold_mia_matches_sklearn():
    rng = np.random.default_rng(0)
    m, nm = rng.exponential(0.5, 300), rng.exponential(1.0, 400)
    m[:20] = nm[:20]                                 # ties across the groups
    res = loss_threshold_mia(m, nm, fpr=0.05)
    labels, scores = np.r_[np.ones(300), np.zeros(400)], -np.r_[m, nm]
    assert res['auc'] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores)
    assert res['tpr'] == tpr[fpr <= 0.05].max()      # the best ROC point within the FPR budget (no interpolation)
    with pytest.raises(ValueError, match='member_losses is empty'): loss_threshold_mia([], nm)
    with pytest.raises(ValueError, match='nonmember_losses contains 1 NaN'): loss_threshold_mia(m, np.r_[nm, np.nan])
    with pytest.raises(ValueError, match='fpr must be a number in'): loss_threshold_mia(m, nm, fpr=1.5)

def test_distances_match_references():
    rng = np.random.default_rng(0)
    p, g, y = rng.normal(size=(90, 3)), rng.normal(size=(90, 3)), rng.normal(size=(90, 3))
    assert prediction_w1(p, g) == pytest.approx(np.mean([wasserstein_distance(p[:, j], g[:, j]) for j in range(3)]), rel=1e-9)
    assert prediction_w1(p[:, 0], g[:50, 0]) == pytest.approx(wasserstein_distance(p[:, 0], g[:50, 0]), rel=1e-9)
    assert output_distance(p, g) == pytest.approx(np.linalg.norm(p - g, axis=1).mean(), rel=1e-9)
    np.testing.assert_allclose(relative_difference(p, g, y), np.linalg.norm(p - g, axis=1) / np.linalg.norm(y, axis=1), rtol=1e-12)
    np.testing.assert_allclose(relative_difference(p[:, 0], g[:, 0], np.zeros(90), eps=0.5), np.abs(p[:, 0] - g[:, 0]) / 0.5)
    assert output_distance(p, p) == 0 and prediction_w1(p, p) == 0

@pytest.mark.parametrize('fn, args, match', [
    (output_distance, (np.zeros(3), np.zeros(4)), 'same shape'),
    (output_distance, (np.zeros((3, 2)), np.zeros(3)), 'same shape'),
    (output_distance, (np.array([np.nan]), np.zeros(1)), 'preds contains 1 NaN'),
    (output_distance, (np.zeros(0), np.zeros(0)), 'preds is empty'),
    (prediction_w1, (np.zeros(3), np.zeros((3, 2))), 'same number of columns'),
    (prediction_w1, (np.zeros(3), np.array([np.inf])), 'gold contains 1 NaN or inf'),
    (relative_difference, (np.zeros(3), np.zeros(3), np.zeros(2)), 'mismatched lengths'),
    (relative_difference, (np.zeros(3), np.zeros(3), np.zeros((3, 1, 1))), 'targets must have 1 or 2'),
])
def test_distance_errors(fn, args, match):
    with pytest.raises(ValueError, match=match): fn(*args)

def test_hidden_distances(setup):
    ms, ds = setup['models'], setup['split'].forget
    hd = hidden_distances(ms['original'], ms['retrain'], ds, batch_size=7)
    assert hd and all(v > 0 for v in hd.values())
    name = next(iter(hd))
    assert hidden_distances(ms['original'], ms['retrain'], ds, [name]) == pytest.approx({name: hd[name]}, rel=1e-6)
    assert hidden_distances(ms['retrain'], ms['retrain'], ds) == dict.fromkeys(hd, 0.)
    with pytest.raises(ValueError): hidden_distances(ms['original'], ms['retrain'], ds, ['no_such_layer'])
    with pytest.raises(ValueError, match='layers is empty'): hidden_distances(ms['original'], ms['retrain'], ds, [])

# AIN

def test_relearn_censoring_and_zero_steps(setup):
    m, train, fv = setup['models']['retrain'], setup['train'], setup['tsplit'].forget
    r = relearn_steps(m, train, fv, threshold=0., batch_size=100, max_epochs=2)
    assert r['censored'] and r['steps'] == r['max_steps'] == 6 and r['loss'] > 0
    r = relearn_steps(m, train, fv, threshold=1e9)
    assert r == dict(steps=0, censored=False, loss=r["loss"], max_steps=10)   # 256 rows, batches of 256, 10 epochs

def test_relearn_works_on_a_copy_and_repeats(setup):
    m, train, fv = setup['models']['retrain'], setup['train'], setup['tsplit'].forget
    before = state_fingerprint(m)
    thr = 0.9 * relearn_steps(m, train, fv, threshold=1e9)['loss']
    a = relearn_steps(m, train, fv, thr, batch_size=32, lr=0.01)
    b = relearn_steps(m, train, fv, thr, batch_size=32, lr=0.01)
    assert a == b and 0 < a['steps'] and not a['censored'] and a['loss'] <= thr
    assert same_state(before, state_fingerprint(m)) and not m.training

def test_relearn_check_every_rounds_up(setup):
    m, train, fv = setup['models']['retrain'], setup['train'], setup['tsplit'].forget
    thr = 0.8 * relearn_steps(m, train, fv, threshold=1e9)['loss']
    one = relearn_steps(m, train, fv, thr, batch_size=16, lr=0.01)['steps']
    for k in (2, 3, 5):
        r = relearn_steps(m, train, fv, thr, batch_size=16, lr=0.01, check_every=k)
        assert r['steps'] == min(-(-one // k) * k, r['max_steps']), (k, one, r)

def test_relearn_uses_the_seed_without_touching_global_rng(setup):
    set_seed(5); m = DropMLP()
    train, fv = setup['train'], setup['tsplit'].forget
    torch.manual_seed(123); x0 = torch.rand(1)
    torch.manual_seed(123); relearn_steps(m, train, fv, threshold=0., batch_size=64, max_epochs=1); x1 = torch.rand(1)
    assert torch.equal(x0, x1)
    a = relearn_steps(m, train, fv, threshold=0., batch_size=64, max_epochs=1)
    b = relearn_steps(m, train, fv, threshold=0., batch_size=64, max_epochs=1)
    assert a == b

def test_anamnesis_index(setup):
    ms, train, fv = setup['models'], setup['train'], setup['tsplit'].forget
    fps = {k: state_fingerprint(m) for k, m in ms.items()}
    r = anamnesis_index(ms['finetune'], ms['retrain'], ms['original'], train, fv, **AIN)
    assert r['retrain_steps'] > 0 and r['ain'] == r['steps'] / r['retrain_steps']
    assert anamnesis_index(ms['original'], ms['retrain'], ms['original'], train, fv, **AIN)['ain'] == 0
    assert anamnesis_index(ms['retrain'], ms['retrain'], ms['original'], train, fv, **AIN)['ain'] == 1
    g = anamnesis_index(ms['finetune'], ms['original'], ms['original'], train, fv, **AIN)   # gold at 0 steps: undefined
    assert np.isnan(g['ain'])
    assert all(same_state(fps[k], state_fingerprint(m)) for k, m in ms.items())
    with pytest.raises(ValueError, match='alpha must be a non-negative number'):
        anamnesis_index(ms['finetune'], ms['retrain'], ms['original'], train, fv, alpha=-1)
    with pytest.raises(ValueError, match='forget_valid is empty'):
        anamnesis_index(ms['finetune'], ms['retrain'], ms['original'], train, torch.utils.data.Subset(fv, []))

# evaluate_unlearning

COLUMNS = ['retain_error', 'forget_error', 'test_error', 'w1', 'act_dist', 'mia_svc', 'mia_auc', 'mia_tpr', 'mia_logreg', 'mia_svc_sd', 'mia_logreg_sd',
           'ain', 'relearn_steps', 'relearn_censored', 'seconds']
GAPS = [c + '_gap' for c in COLUMNS if c not in ('relearn_steps', 'relearn_censored', 'seconds', 'mia_svc_sd', 'mia_logreg_sd')]

@pytest.fixture(scope='module')
def table(setup):
    ms, split, tsplit = setup['models'], setup['split'], setup['tsplit']
    before = {k: (state_fingerprint(m), [x.training for x in m.modules()]) for k, m in ms.items()}
    masks = split.forget_mask.copy(), tsplit.forget_mask.copy()
    df = evaluate_unlearning(ms, split, tsplit, ain=AIN, times=dict(finetune=2.5))
    return df, before, masks

def test_evaluate_columns_and_retrain_row(table):
    df, *_ = table
    assert list(df.columns) == COLUMNS + GAPS and list(df.index) == ['original', 'retrain', 'finetune'] and df.index.name == 'model'
    assert (df.loc['retrain', GAPS] == 0).all()
    assert df.loc['retrain', 'w1'] == 0 and df.loc['retrain', 'act_dist'] == 0 and df.loc['retrain', 'ain'] == 1
    assert df.loc['original', 'ain'] == 0 and df.loc['original', 'relearn_steps'] == 0
    for c in [c for c in COLUMNS if c + '_gap' in GAPS]:
        np.testing.assert_allclose(df[c + '_gap'], (df[c] - df.loc['retrain', c]).abs())
    assert df.loc['finetune', 'seconds'] == 2.5 and np.isnan(df.loc['original', 'seconds'])
    assert df.attrs['retrain_key'] == 'retrain' and df.attrs['ain_retrain_steps'] == df.loc['retrain', 'relearn_steps']

def test_evaluate_leaves_inputs_unchanged(setup, table):
    df, before, masks = table
    for k, m in setup['models'].items():
        assert same_state(before[k][0], state_fingerprint(m)) and before[k][1] == [x.training for x in m.modules()]
    assert (setup['split'].forget_mask == masks[0]).all() and (setup['tsplit'].forget_mask == masks[1]).all()

def test_evaluate_is_deterministic(setup, table):
    again = evaluate_unlearning(setup['models'], setup['split'], setup['tsplit'], ain=AIN, times=dict(finetune=2.5))
    pd.testing.assert_frame_equal(table[0], again)

def test_evaluate_errors_are_exact_means(setup, table):
    df, ts = table[0], setup['tsplit']
    for k, m in setup['models'].items():
        err = np.abs(predict(m, setup['test']).reshape(-1).astype(np.float64) - ts.targets)
        np.testing.assert_allclose(df.loc[k, ['retain_error', 'forget_error', 'test_error']].astype(float),
                                   [err[~ts.forget_mask].mean(), err[ts.forget_mask].mean(), err.mean()], rtol=1e-5)

def test_evaluate_mia_matches_direct_attacks(setup):
    "One draw of the attacks, written out: the rows drawn, then the scikit-learn pipelines on their features."
    split, ts = setup['split'], setup['tsplit']
    m, gold = setup['models']['finetune'], setup['models']['retrain']
    df = evaluate_unlearning(dict(retrain=gold, finetune=m), split, ts, mia=dict(draws=1, max_rows=30))
    rng = np.random.default_rng(0)
    draw = lambda rows, k: rows if k >= len(rows) else np.sort(rng.choice(rows, k, replace=False))
    retain, nm_idx = np.flatnonzero(~split.forget_mask), np.flatnonzero(ts.forget_mask)
    k, k_lr = min(len(retain), len(ts), 30), min(split.n_forget, len(nm_idx), 30)
    members, nonmembers, judged = draw(retain, k), draw(np.arange(len(ts)), k), draw(np.arange(split.n_forget), 300)
    lr_f, lr_n = draw(np.arange(split.n_forget), k_lr), draw(nm_idx, k_lr)
    f_mem = attack_features(m, torch.utils.data.Subset(split.dataset, members.tolist()), features='abs_loss')
    f_test, f_forget = attack_features(m, ts.dataset), attack_features(m, split.forget)
    assert df.loc['finetune', 'mia_svc'] == _direct_svc(f_mem, f_test[nonmembers][:, :1], f_forget[judged][:, :1], None, 0)
    f_tf = f_test[ts.forget_mask]                   # non-members of the threshold attack: every test forget row
    auc = roc_auc_score(np.r_[np.ones(len(f_forget)), np.zeros(len(f_tf))], -np.r_[f_forget[:, 0], f_tf[:, 0]])
    assert df.loc['finetune', 'mia_auc'] == pytest.approx(auc, abs=1e-9)
    assert df.loc['finetune', 'mia_logreg'] == logreg_mia(f_forget[lr_f], f_test[lr_n], cv=df.attrs['mia_cv'], seed=0)
    assert (df.attrs['mia_members'], df.attrs['mia_draws'], df.attrs['mia_logreg_rows']) == (k, 1, k_lr)
    pf, pg = predict(m, split.forget).reshape(-1), predict(gold, split.forget).reshape(-1)
    assert df.loc['finetune', 'w1'] == pytest.approx(wasserstein_distance(pf, pg), rel=1e-5)
    assert df.loc['finetune', 'act_dist'] == pytest.approx(np.abs(pf - pg).mean(), rel=1e-5)

def test_attacks_never_fit_on_more_rows_than_their_budget(setup, monkeypatch):
    "The bounded-cost default: each attack fits on at most `max_rows` rows per group, and the report says how many."
    import drunlearn.evaluation as E
    seen = []
    real_svc, real_lr = E.svc_mia, E.logreg_mia
    monkeypatch.setattr(E, 'svc_mia', lambda m, nm, tg, **k: seen.append(('svc', len(m), len(nm), len(tg))) or real_svc(m, nm, tg, **k))
    monkeypatch.setattr(E, 'logreg_mia', lambda m, nm, **k: seen.append(('lr', len(m), len(nm))) or real_lr(m, nm, **k))
    split, ts = setup['split'], setup['tsplit']
    df = evaluate_unlearning(dict(retrain=setup['models']['retrain']), split, ts, mia=dict(max_rows=20, draws=2))
    assert len(seen) == 4 and all(n <= 20 for s in seen for n in s[1:3]) and all(s[3] <= 200 for s in seen if s[0] == 'svc')
    assert (df.attrs['mia_members'], df.attrs['mia_logreg_rows'], df.attrs['mia_draws']) == (20, 20, 2)
    assert df.loc['retrain', 'mia_svc_sd'] >= 0
    seen.clear()
    evaluate_unlearning(dict(retrain=setup['models']['retrain']), split, ts, mia=dict(max_rows=None, draws=1))   # exact: every row
    k = min(split.n_retain, len(ts))
    assert seen == [('svc', k, k, split.n_forget), ('lr', split.n_forget, ts.n_forget)]

def test_evaluate_options(setup):
    ms, split, ts = setup['models'], setup['split'], setup['tsplit']
    df = evaluate_unlearning(dict(retrain=ms['retrain'], finetune=ms['finetune']), split, ts, mia=False, hidden=True, device='cpu')
    hid = [c for c in df.columns if c.startswith('act_dist[') and not c.endswith('_gap')]
    assert hid and 'mia_svc' not in df and 'ain' not in df and (df.loc['retrain', hid] == 0).all()
    assert [c for c in df.columns if not c.endswith('_gap')] == ['retain_error', 'forget_error', 'test_error', 'w1', 'act_dist', *hid, 'seconds']
    df2 = evaluate_unlearning(dict(retrain=ms['retrain'], finetune=ms['finetune']), split, ts, mia=dict(max_rows=40, cv=3, features=MIA_FEATURES))
    assert df2.attrs['mia_members'] == 40 and 0 <= df2.loc['finetune', 'mia_svc'] <= 1
    # every test row as non-members of the threshold attack
    df4 = evaluate_unlearning(dict(retrain=ms['retrain'], finetune=ms['finetune']), split, ts, mia=dict(nonmembers='test', max_rows=None, draws=1))
    f_forget, f_test = attack_features(ms['finetune'], split.forget), attack_features(ms['finetune'], ts.dataset)
    auc = roc_auc_score(np.r_[np.ones(len(f_forget)), np.zeros(len(f_test))], -np.r_[f_forget[:, 0], f_test[:, 0]])
    assert df4.loc['finetune', 'mia_auc'] == pytest.approx(auc, abs=1e-9) and df4.attrs['mia_nonmembers'] == 'test'
    assert df4.loc['finetune', 'mia_logreg'] == logreg_mia(f_forget, f_test, seed=0)
    # unlearning_record seconds are used, `times` wins
    m = copy_model(ms['finetune']); m.unlearning_record = dict(method='finetune', seconds=4.0)
    df3 = evaluate_unlearning(dict(retrain=ms['retrain'], u=m, v=copy_model(m)), split, ts, mia=False, times=dict(v=1.))
    assert df3['seconds'].tolist()[1:] == [4.0, 1.0]
    # a model in train mode (dropout) is measured in eval mode and left in train mode
    set_seed(0); d = DropMLP().train()
    a = evaluate_unlearning(dict(retrain=ms['retrain'], d=d), split, ts, mia=False)
    b = evaluate_unlearning(dict(retrain=ms['retrain'], d=d), split, ts, mia=False)
    pd.testing.assert_frame_equal(a, b); assert d.training

@pytest.mark.parametrize('kw, err, match', [
    (dict(models=dict(original=None)), TypeError, r"models\['original'\] must be a torch.nn.Module"),
    (dict(models={}), ValueError, 'models is empty'),
    (dict(models=[1]), TypeError, 'models must be a dict'),
    (dict(models='no_retrain'), ValueError, "models has no 'retrain' entry"),
    (dict(retrain_key='gold'), ValueError, "models has no 'gold' entry"),
    (dict(ain=True, original_key='orig'), ValueError, "no 'orig' entry, which AIN needs"),
    (dict(split='x'), TypeError, 'split must be a drunlearn.data.ForgetSplit'),
    (dict(valid=3), TypeError, 'valid must be a drunlearn.data.ForgetSplit'),
    (dict(mia=dict(bad=1)), ValueError, r"mia has unknown option\(s\) \['bad'\]"),
    (dict(ain=dict(lr=-1)), ValueError, 'lr must be a positive number'),
    (dict(ain='yes'), TypeError, 'ain must be True, False or a dict'),
    (dict(mia=dict(features=['nope'])), ValueError, r"mia\['features'\] must be one of"),
    (dict(mia=dict(nonmembers='train')), ValueError, r"mia\['nonmembers'\] must be one of"),
    (dict(times=dict(zzz=1.)), ValueError, "times names 'zzz'"),
    (dict(times=dict(retrain=-1.)), ValueError, r"times\['retrain'\] must be a non-negative number"),
    (dict(seed=-1), ValueError, 'seed must be a non-negative integer'),
    (dict(batch_size=0), ValueError, 'batch_size must be a positive integer'),
])
def test_evaluate_errors(setup, kw, err, match):
    ms = setup['models']
    args = dict(models=ms, split=setup['split'], test=setup['tsplit'], mia=False) | kw
    if args['models'] == 'no_retrain': args['models'] = dict(original=ms['original'])
    with pytest.raises(err, match=match): evaluate_unlearning(args.pop('models'), args.pop('split'), args.pop('test'), **args)

def test_evaluate_ain_watches_valid_forget_rows(setup):
    ms, split, ts = setup['models'], setup['split'], setup['tsplit']
    valid = split.apply(_task(120, 7))
    df = evaluate_unlearning(ms, split, ts, valid=valid, mia=False, ain=AIN)
    from drunlearn.train import evaluate
    assert df.attrs['ain_original_loss'] == pytest.approx(evaluate(ms['original'], valid.forget).mean(), rel=1e-6)
    r = anamnesis_index(ms['finetune'], ms['retrain'], ms['original'], split.dataset, valid.forget, **AIN)
    assert df.loc['finetune', 'ain'] == r['ain'] or (np.isnan(r['ain']) and np.isnan(df.loc['finetune', 'ain']))
    assert df.loc['finetune', 'relearn_steps'] == r['steps'] and df.attrs['ain_retrain_steps'] == r['retrain_steps']

def test_evaluate_bad_layers(setup):
    ms = setup['models']
    with pytest.raises(ValueError, match='unknown layer name'):
        evaluate_unlearning(ms, setup['split'], setup['tsplit'], mia=False, hidden=['nope'])
