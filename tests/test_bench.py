"The benchmark as users run it: one number whichever way it is computed, a Dask cluster, an interrupted run resumed."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
METRICS = ['retain_error', 'forget_error', 'test_error', 'w1', 'act_dist', 'mia_svc', 'mia_auc', 'mia_logreg']

def test_t_quantiles_match_scipy():
    from scipy import stats
    from drunlearn.bench import _T975, _t975
    np.testing.assert_allclose(_T975, stats.t.ppf(0.975, np.arange(1, 31)), atol=6e-4)
    assert _t975(200) == 1.96

def test_a_bench_row_is_the_studys_number(tmp_path):
    "run_bench and run_study share their steps: the same task and seed give the same metrics."
    from drunlearn.bench import run_bench
    from drunlearn.study import StudyConfig, run_study
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try:
        st = run_study(StudyConfig(dataset='digits', methods=('blindspot', 'gaussian'), seeds=(1,), quick=True, device='cpu'), log=None)
        b = run_bench(dict(tasks='digits_mlp', methods='blindspot,gaussian', seeds=[1], quick=True, engine='serial', device='cpu',
                           out=tmp_path / 'lb'), log=None)
    finally: torch.set_num_threads(threads)
    a = st.results.set_index('model')[METRICS].sort_index()
    c = b.rows.set_index('model')[METRICS].sort_index()
    pd.testing.assert_frame_equal(a, c, check_exact=False, rtol=1e-9, check_dtype=False)

def test_dask_engine_on_a_local_two_worker_cluster(tmp_path):
    "The cluster engine gives the same rows as this process (a local Dask cluster of two workers, as a remote one would be used)."
    pytest.importorskip('distributed')
    from drunlearn.bench import run_bench
    from drunlearn.jobs import run_jobs
    import operator
    assert sorted(run_jobs(operator.mul, [(i, 3) for i in range(6)], engine='dask', n_jobs=2)) == [(i, 3 * i) for i in range(6)]
    kw = dict(tasks='digits_mlp', methods='blindspot,ssd', seeds=2, quick=True, device='cpu')
    d = run_bench(dict(kw, engine='dask', jobs=2, out=tmp_path / 'dask'), log=None)
    threads = torch.get_num_threads(); torch.set_num_threads(1)      # the workers' setting
    try: s = run_bench(dict(kw, engine='serial', out=tmp_path / 'serial'), log=None)
    finally: torch.set_num_threads(threads)
    key = ['model', 'seed']
    pd.testing.assert_frame_equal(d.rows.set_index(key)[METRICS].sort_index(), s.rows.set_index(key)[METRICS].sort_index(),
                                  check_exact=False, rtol=1e-6)
    assert d.record['jobs'] == dict(run=6, cached=0)

def _bench_cmd(out:Path)->list:
    return [sys.executable, '-m', 'drunlearn', 'bench', '--tasks', 'digits_mlp,taylor', '--methods', 'blindspot,finetune,gaussian',
            '--seeds', '2', '--quick', '--jobs', '2', '--device', 'cpu', '--out', str(out)]

def _job_files(out:Path)->dict:
    return {p: p.stat().st_mtime_ns for p in (out / 'jobs').rglob('*') if p.is_file()}

@pytest.mark.parametrize('sig, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_bench_resumes_without_recomputing(tmp_path, sig, status):
    out = tmp_path / 'lb'
    p = subprocess.Popen(_bench_cmd(out), cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while time.time() - t0 < 240 and p.poll() is None and len(_job_files(out) if out.exists() else {}) < 3: time.sleep(0.2)
    assert p.poll() is None, 'the run ended before it could be interrupted: ' + p.communicate()[1][-2000:]
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == status, err[-3000:]
    assert 'the finished jobs are kept' in err and 'Traceback' not in err
    before = _job_files(out)
    assert 3 <= len(before) < 2 * 2 * 4, sorted(before)         # some jobs were done, not all (2 tasks × 2 seeds × (base + 3))
    assert not list(tmp_path.rglob('*.tmp')), list(tmp_path.rglob('*.tmp'))   # no half-written file was left
    r = subprocess.run(_bench_cmd(out), cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    after = _job_files(out)
    assert all(after[f] == m for f, m in before.items())          # nothing that was done was computed again
    rec = json.loads((out / 'leaderboard.json').read_text())
    assert rec['state'] == 'done' and rec['jobs'] == dict(run=16 - len(before), cached=len(before))
    rows = pd.read_csv(out / 'leaderboard.csv')
    assert len(rows) == 2 * 2 * 5 and set(rows.model) == {'original', 'retrain', 'blindspot', 'finetune', 'gaussian'}
    assert 'leaderboard: ' in r.stdout

def test_a_bench_refuses_a_folder_of_the_users(tmp_path):
    (tmp_path / 'mine').mkdir(); (tmp_path / 'mine' / 'data.csv').write_text('1,2\n')
    r = subprocess.run(_bench_cmd(tmp_path / 'mine'), cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'is not a drunlearn leaderboard' in r.stderr
    assert [p.name for p in (tmp_path / 'mine').iterdir()] == ['data.csv']

STORED = ROOT / 'nbs' / 'tutorials' / 'results' / 'leaderboard'

def test_the_stored_leaderboard_is_what_its_csv_gives():
    from drunlearn.bench import load_leaderboard, _leaderboard_md
    res = load_leaderboard(STORED)
    assert (STORED / 'leaderboard.md').read_text() == _leaderboard_md(res)
    rec = res.record
    assert rec['state'] == 'done' and len(rec['config']['seeds']) >= 3 and not rec['config']['quick']
    assert set(res.rows.task) == set(rec['config']['tasks']) and len(rec['config']['tasks']) >= 4
    assert set(res.rows.model) == {'original', 'retrain', *rec['config']['methods']}
    assert len(res.rows) == len(rec['config']['tasks']) * len(rec['config']['seeds']) * (2 + len(rec['config']['methods']))

def test_the_leaderboard_page_quotes_the_stored_run():
    "Every mean ± std, interval, average rank and the run time that the page's prose quotes are the stored run's."
    import re
    from drunlearn.bench import SCORES, load_leaderboard, average_ranks, _pm
    res = load_leaderboard(STORED)
    s = res.summary
    allowed = {_pm(r[f'{k}_mean'], r[f'{k}_std'], d) for _, r in s.iterrows() for k in SCORES for d in (2, 3)}
    intervals = {f"[{r[f'{k}_lo']:.2f}, {r[f'{k}_hi']:.2f}]" for _, r in s.iterrows() for k in SCORES}
    ranks = {f'{v:.2f}' for v in average_ranks(s)['average rank']}
    nb = json.loads((ROOT / 'nbs' / 'leaderboard.ipynb').read_text())
    prose = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown')
    quoted = re.findall(r'-?\d+\.\d+ ± \d+\.\d+', prose)
    assert len(quoted) >= 5, quoted
    assert [q for q in quoted if q not in allowed] == []
    assert [q for q in re.findall(r'\[-?\d+\.\d+, -?\d+\.\d+\]', prose) if q not in intervals] == []
    assert [q for q in re.findall(r'average rank (\d+\.\d+)', prose) if q not in ranks] == []
    took = re.search(r'took (\d+)\s+minutes', prose)
    assert took and int(took.group(1)) == round(res.record['seconds'] / 60)

def test_a_failing_method_is_a_row_not_a_crash(tmp_path):
    "A method that raises on a task is reported in the failed column, ranked last, and not cached, and the run goes on."
    from drunlearn.bench import run_bench
    from drunlearn.unlearning import METHODS, register_method
    @register_method('_always_fails')
    def _always_fails(model, split, *, seed:int=0): raise ValueError('this method cannot serve the task')
    try: bad = run_bench(dict(tasks='digits_mlp', methods='blindspot,_always_fails', seeds=1, quick=True, engine='serial', out=tmp_path / 'lb'), log=None)
    finally: METHODS.pop('_always_fails')
    row = bad.summary.set_index('model').loc['_always_fails']
    assert row.failed == 'ValueError: this method cannot serve the task' and row['rank'] == 2 and bad.record['failed'] == 1
    assert not list((tmp_path / 'lb' / 'jobs').rglob('*_always_fails*'))
    assert '_always_fails' in (tmp_path / 'lb' / 'leaderboard.md').read_text()

def test_fashion_mnist_joins_where_its_files_are(tmp_path, monkeypatch):
    import drunlearn.bench as B
    monkeypatch.setattr(B, 'FASHION_MNIST_DIR', tmp_path)
    assert 'fashion_mnist' not in B.available_tasks()
    (tmp_path / 'train-images-idx3-ubyte.gz').write_bytes(b'')
    assert 'fashion_mnist' in B.available_tasks() and B.BenchConfig().check().tasks[-1] == 'fashion_mnist'
