"""What drunlearn promises a user, each promise probed the way it was once broken.

Every test here reproduced a fault found by probing the library as a hostile user (issue 9): it failed before the
fix and passes after it. The reliability page of the docs (nbs/reliability.ipynb) states the promises."""
import json, os, random, signal, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from drunlearn.core import state_fingerprint, same_state
from drunlearn.data import ForgetSplit, get_targets
from drunlearn.unlearning import unlearn
from drunlearn.methods import gaussian_labels
from drunlearn.evaluation import evaluate_unlearning
from drunlearn.train import fit, make_loader
from drunlearn.checkpoint import save_checkpoint, load_checkpoint
from drunlearn.models import MLP
from drunlearn.study import run_study, write_report, StudyConfig

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
FAST = dict(epochs=1, min_steps=2, batch_size=64)
OPTS = dict(retrain=FAST, finetune=FAST, gaussian=FAST, blindspot=dict(**FAST, bs_epochs=1, bs_min_steps=2))

def circle(n=200, seed=0, dtype=np.float32):
    "A nonlinear target (an angle) whose top range a retrained model cannot extrapolate into."
    rng = np.random.default_rng(seed)
    th = rng.uniform(-3, 3, n)
    x = np.c_[np.cos(th), np.sin(th), rng.normal(0, .05, (n, 2))].astype(dtype)
    return x, th.astype(dtype)

def drunlearn(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, '-m', 'drunlearn', *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)

@pytest.fixture(scope='module')
def quick_result():
    return run_study(StudyConfig(quick=True, methods=('finetune',), attacks=()), log=None)

# ---------------------------------------------------------------- 1. reports never delete the user's files
def test_report_refuses_a_folder_with_other_files(tmp_path, quick_result):
    (tmp_path / 'thesis.tex').write_text('years of work')
    with pytest.raises(ValueError, match='not a drunlearn report'):
        write_report(quick_result, tmp_path)
    assert (tmp_path / 'thesis.tex').read_text() == 'years of work'

def test_report_refuses_the_working_directory(tmp_path, quick_result, monkeypatch):
    (tmp_path / 'notes.txt').write_text('keep me')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        write_report(quick_result, '.')
    assert (tmp_path / 'notes.txt').read_text() == 'keep me'
    empty = tmp_path / 'empty'; empty.mkdir(); monkeypatch.chdir(empty)
    with pytest.raises(ValueError, match='working directory'):   # even empty: it is where the user stands
        write_report(quick_result, '.')
    assert empty.is_dir()

def test_report_replaces_its_own_report_and_an_empty_folder(tmp_path, quick_result):
    out = tmp_path / 'rep'; out.mkdir()
    write_report(quick_result, out)                        # an empty folder is fine
    first = json.loads((out / 'report.json').read_text())
    assert first['format'] == 'drunlearn.report'
    write_report(quick_result, out)                        # a previous report is replaced whole
    (out / 'mine.csv').write_text('1,2')                   # ... but not once the user put a file in it
    with pytest.raises(ValueError, match='mine.csv'):
        write_report(quick_result, out)
    assert (out / 'mine.csv').exists()

def test_cli_out_dot_deletes_nothing_and_trains_nothing(tmp_path):
    (tmp_path / 'data.csv').write_text('precious')
    r = drunlearn('--quick', '--out', '.', cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert 'original trained' not in r.stdout
    assert (tmp_path / 'data.csv').read_text() == 'precious'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data.csv']

# ---------------------------------------------------------------- 2. a factory returning the user's model
@pytest.mark.parametrize('method', ['retrain', 'blindspot'])
def test_factory_returning_the_users_model_is_refused(method):
    x, y = circle()
    split = ForgetSplit.from_range((x, y), low=2.)
    model = MLP(4, hidden=(16,))
    before, modes = state_fingerprint(model), model.training
    with pytest.raises(ValueError, match='model_factory'):
        unlearn(model, split, method, model_factory=lambda: model, **OPTS[method])
    assert same_state(before, state_fingerprint(model)) and model.training == modes
    assert all(p.requires_grad for p in model.parameters())
    def sharing():                    # a new module that reuses one of the user's layers
        m = MLP(4, hidden=(16,)); m.head = model.head; return m
    with pytest.raises(ValueError, match='shares'):
        unlearn(model, split, method, model_factory=sharing, **OPTS[method])
    assert same_state(before, state_fingerprint(model))

# ---------------------------------------------------------------- 3. float64 data (NumPy's default)
class NumpyRows(Dataset):
    "Items are float64 NumPy arrays, as a user's own Dataset often yields."
    def __init__(self, x, y): self.x, self.y = x.astype(np.float64), y.astype(np.float64)
    def __len__(self): return len(self.y)
    def __getitem__(self, i): return self.x[i], self.y[i]

@pytest.mark.parametrize('kind', ['numpy', 'tensor'])
def test_float64_datasets_work_everywhere(kind):
    x, y = circle(dtype=np.float64)
    ds = NumpyRows(x, y) if kind == 'numpy' else TensorDataset(torch.tensor(x), torch.tensor(y))
    split = ForgetSplit.from_range(ds, low=2.)
    model = MLP(4, hidden=(16,))
    fit(model, ds, epochs=1, progress=False)
    models = dict(original=model, **{m: unlearn(model, split, m, **OPTS[m]) for m in OPTS})
    df = evaluate_unlearning(models, split, split, mia=False)
    assert np.isfinite(df[['retain_error', 'forget_error', 'w1']].to_numpy()).all()

# ---------------------------------------------------------------- 4. item targets are the truth
class Standardised(Dataset):
    "Keeps raw targets in `.targets` but returns standardised ones from `__getitem__`."
    def __init__(self, x, y): self.x, self.targets = torch.tensor(x), torch.tensor(y)
    def __len__(self): return len(self.targets)
    def __getitem__(self, i): return self.x[i], (self.targets[i] - 10.) / 2.

def test_targets_come_from_the_items_not_a_stale_attribute():
    x, y = circle()
    ds = Standardised(x, y * 2 + 10)                       # items give back `y`
    np.testing.assert_allclose(get_targets(ds), y, atol=1e-5)
    split = ForgetSplit.from_range(ds, low=2.)
    np.testing.assert_array_equal(split.forget_mask, y >= 2.)
    labels = gaussian_labels(split.targets, split.forget_mask, 0)   # what `gaussian` trains on
    np.testing.assert_allclose(labels[~split.forget_mask], y[~split.forget_mask], atol=1e-5)

# ---------------------------------------------------------------- 5. the test split must use the same rule
def test_evaluation_refuses_a_test_split_made_by_another_rule():
    x, y = circle(); xt, yt = circle(80, seed=1)
    split = ForgetSplit.from_range((x, y), low=2.)
    models = dict(original=MLP(4, hidden=(8,)), retrain=MLP(4, hidden=(8,)))
    with pytest.raises(ValueError, match='rule'):
        evaluate_unlearning(models, split, ForgetSplit.from_range((xt, yt), high=-2.), mia=False)
    with pytest.warns(UserWarning, match='cannot be checked'):
        evaluate_unlearning(models, split, ForgetSplit.from_mask((xt, yt), yt >= 2.), mia=False)
    evaluate_unlearning(models, split, split.apply((xt, yt)), mia=False)   # the same rule is fine

# ---------------------------------------------------------------- 6. one shape rule for outputs
class Transposed(nn.Module):
    "Returns (1, N) for N rows: the wrong orientation."
    def __init__(self): super().__init__(); self.lin = nn.Linear(4, 1)
    def forward(self, x): return self.lin(x).T

def test_transposed_outputs_are_refused_everywhere():
    x, y = circle()
    split = ForgetSplit.from_range((x, y), low=2.)
    with pytest.raises(ValueError, match='shape'): fit(Transposed(), (x, y), epochs=1, progress=False)
    with pytest.raises(ValueError, match='shape'):
        evaluate_unlearning(dict(retrain=Transposed(), original=Transposed()), split, split, mia=False)

# ---------------------------------------------------------------- 7. the CLI checks everything before training
def _unwritable_folder():
    "A folder even root cannot write into (a read-only system folder), or None when there is none."
    for d in ('/sys', '/proc/sys'):
        try: fd, p = tempfile.mkstemp(dir=d)
        except OSError: return Path(d)
        os.close(fd); os.unlink(p)
    return None

@pytest.mark.parametrize('config, message', [
    ('[method_options.blindspot]\nbeta = "x"\n', 'blindspot'),
    ('[method_options.blindspot]\nbetta = 1.0\n', 'betta'),
    ('[method_options.retrain]\nepochs = 0\n', 'epochs'),
    ('[method_options.gaussian]\nlr = -1\n', 'lr'),
])
def test_cli_refuses_bad_method_options_before_training(tmp_path, config, message):
    (tmp_path / 'c.toml').write_text(config)
    r = drunlearn('--quick', '--config', str(tmp_path / 'c.toml'), '--out', str(tmp_path / 'rep'), cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert 'original trained' not in r.stdout and len(r.stderr.strip().splitlines()) == 1

def test_cli_refuses_bad_out_before_training(tmp_path):
    (tmp_path / 'file.txt').write_text('x')
    cases = [(tmp_path / 'file.txt', 'not a folder'), (tmp_path / 'file.txt' / 'rep', 'not a folder')]
    ro = _unwritable_folder()
    if ro is not None: cases.append((ro / 'drunlearn-report', 'cannot write'))
    for out, message in cases:
        r = drunlearn('--quick', '--out', str(out), cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, (out, r.stderr)
        assert 'original trained' not in r.stdout
    assert (tmp_path / 'file.txt').read_text() == 'x'

def test_cli_refuses_max_rows_too_small_for_the_attacks(tmp_path):
    r = drunlearn('--quick', '--max-rows', '5', '--out', str(tmp_path / 'rep'), cwd=tmp_path)
    assert r.returncode == 2 and 'max-rows' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert 'original trained' not in r.stdout

# ---------------------------------------------------------------- 8. interrupts leave the old or the new result
_WRITER = """
import os, signal, sys, pickle
from pathlib import Path
import drunlearn.study as study
res = pickle.load(open(sys.argv[1], 'rb'))
def killed(res, folder):              # SIGTERM arrives in the middle of writing the figures
    (Path(folder) / 'half.png').write_bytes(b'x')
    os.kill(os.getpid(), signal.SIGTERM); import time; time.sleep(5)
study._save_figures = killed
study.write_report(res, sys.argv[2])
"""

def test_sigterm_during_a_report_write_leaves_the_old_report_and_no_litter(tmp_path, quick_result):
    import pickle
    out = tmp_path / 'rep'
    write_report(quick_result, out)
    old = (out / 'report.json').read_bytes()
    pickle.dump(quick_result, open(tmp_path / 'res.pkl', 'wb'))
    r = subprocess.run([sys.executable, '-c', _WRITER, str(tmp_path / 'res.pkl'), str(out)], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGTERM, (r.returncode, r.stderr[-2000:])
    assert (out / 'report.json').read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rep', 'res.pkl']

_SAVER = """
import os, signal, sys, torch
from drunlearn.checkpoint import save_checkpoint
from drunlearn.models import MLP
real = torch.save
def killed(obj, f, *a, **k):
    real(obj, f, *a, **k); os.kill(os.getpid(), signal.SIGTERM); import time; time.sleep(5)
torch.save = killed
save_checkpoint(sys.argv[1], MLP(4))
"""

def test_sigterm_during_a_checkpoint_save_leaves_no_litter(tmp_path):
    r = subprocess.run([sys.executable, '-c', _SAVER, str(tmp_path / 'm.pt')], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGTERM, (r.returncode, r.stderr[-2000:])
    assert list(tmp_path.iterdir()) == []

def _dead_pid():
    p = subprocess.Popen([sys.executable, '-c', 'pass']); p.wait()
    return p.pid

def test_litter_of_a_killed_writer_is_cleaned_by_the_next_write(tmp_path, quick_result):
    pid = _dead_pid()
    (tmp_path / f'.rep.{pid}.deadbeef.tmp').mkdir(); (tmp_path / f'.rep.{pid}.deadbeef.tmp' / 'report.json').write_text('{}')
    (tmp_path / f'.m.pt.{pid}.deadbeef.tmp').write_bytes(b'half')
    (tmp_path / f'.other.{pid}.deadbeef.tmp').write_bytes(b'not ours')          # another destination's: kept
    write_report(quick_result, tmp_path / 'rep')
    save_checkpoint(tmp_path / 'm.pt', MLP(4))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['rep', 'm.pt', f'.other.{pid}.deadbeef.tmp'])

def test_concurrent_report_writes_never_hide_the_report(tmp_path, quick_result):
    out = tmp_path / 'rep'
    write_report(quick_result, out)
    errors, missing, stop = [], [], threading.Event()
    def watch():
        while not stop.is_set():
            if not (out / 'report.json').exists(): missing.append(time.time())
    def write():
        try:
            for _ in range(3): write_report(quick_result, out)
        except Exception as e: errors.append(e)
    w = threading.Thread(target=watch); w.start()
    ts = [threading.Thread(target=write) for _ in range(3)]
    for t in ts: t.start()
    for t in ts: t.join()
    stop.set(); w.join()
    assert not errors, errors
    assert not missing, f'the report was missing {len(missing)} times'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rep']

# ---------------------------------------------------------------- 9. a last batch of one row
class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, 1)
    def forward(self, x): return self.head(self.body(x))

def test_a_one_row_remainder_joins_the_previous_batch():
    x, y = circle(129)
    sizes = [len(b[0]) for b in make_loader((x, y), 64, shuffle=True)]
    assert sorted(sizes) == [64, 65] and sum(sizes) == 129
    model = BNNet()
    h = fit(model, (x, y), epochs=2, batch_size=64, progress=False)
    assert h.steps == 4                                    # two batches per epoch, every row used
    split = ForgetSplit.from_indices((x, y), np.argsort(y)[-16:])   # 129 rows, 113 retained: both 1 more than 8·k
    for m, o in OPTS.items(): unlearn(model, split, m, **{**o, 'batch_size': 8})

# ---------------------------------------------------------------- 10. library calls leave global state alone
def test_run_study_leaves_the_global_random_state_as_it_found_it(quick_result):
    random.seed(123); np.random.seed(123); torch.manual_seed(123)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    run_study(StudyConfig(quick=True, methods=('finetune',), attacks=(), seeds=(7,)), log=None)
    assert random.getstate() == states[0]
    assert (np.random.get_state()[1] == states[1]).all()
    assert torch.equal(torch.get_rng_state(), states[2])

# ---------------------------------------------------------------- 11. checkpoints detect corruption
def test_a_flipped_byte_in_the_weights_is_detected(tmp_path):
    m = MLP(4, hidden=(32,))
    p = save_checkpoint(tmp_path / 'm.pt', m)
    raw = bytearray(p.read_bytes())
    w = m.blocks[0][0].weight.detach().numpy().tobytes()
    at = bytes(raw).find(w[:64])                           # the start of the first weight matrix in the file
    assert at > 0
    raw[at + 10] ^= 0x40
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match='m.pt'):
        load_checkpoint(p)

def test_version_true_is_not_version_one(tmp_path):
    p = save_checkpoint(tmp_path / 'm.pt', MLP(4))
    payload = torch.load(p, weights_only=True)
    payload['version'] = True
    torch.save(payload, p)
    with pytest.raises(ValueError, match='version'):
        load_checkpoint(p)

# ---------------------------------------------------------------- 12. small ones
def test_small_ones():
    x, y = circle()
    with pytest.raises(ValueError, match='forget set is empty'): ForgetSplit.from_indices((x, y), [])
    split = ForgetSplit.from_range((x, y), low=2.)
    model = MLP(4, hidden=(16,))
    with pytest.raises(ValueError, match='bs_epochs'): unlearn(model, split, 'blindspot', bs_epochs=0)
    with pytest.raises(ValueError, match='bs_lr'): unlearn(model, split, 'blindspot', bs_lr=-1)
    with pytest.raises(ValueError, match='layers'): unlearn(model, split, 'blindspot', layers=[])
    with torch.device('meta'): meta = MLP(4)
    for m in ('finetune', 'blindspot', 'retrain'):
        with pytest.raises(ValueError, match='meta'): unlearn(meta, split, m)
    with pytest.raises(ValueError, match='meta'): fit(meta, (x, y), epochs=1, progress=False)

# ---------------------------------------------------------------- found later: a quantile forecaster in the study
def test_forecasting_study_runs_end_to_end(tmp_path):
    "The demand bundle's models output horizon × quantiles values; the study trains and scores them (it crashed before)."
    pytest.importorskip('pmdarima')
    res = run_study(StudyConfig(dataset='taylor', quick=True, methods=('finetune',)), log=None)
    assert np.isfinite(res.results[['retain_error', 'forget_error', 'w1', 'mia_svc']].to_numpy()).all()
    write_report(res, tmp_path / 'rep')
