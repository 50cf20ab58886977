"`fit`, the methods and the study under torchrun: two gloo processes on the CPU against one process."
import json, os, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
import torch

WORKER = Path(__file__).with_name('ddp_worker.py')
sys.path.insert(0, str(WORKER.parent))
import ddp_worker as W

def torchrun(job:str, out:Path, timeout:float=300)->subprocess.CompletedProcess:
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(WORKER.parents[1])}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', str(WORKER), job, str(out)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)

def test_fit_under_torchrun_equals_one_process(tmp_path):
    r = torchrun('fit', tmp_path / 'w.pt')
    assert r.returncode == 0, r.stderr[-3000:]
    ddp = torch.load(tmp_path / 'w.pt')
    from drunlearn.train import fit
    m = W.model(); fit(m, W.data(), **W.FIT)
    for k, v in m.state_dict().items():   # the same global batches and steps: equal up to summation order
        assert torch.allclose(ddp[k], v, atol=1e-5, rtol=1e-4), (k, (ddp[k] - v).abs().max())

def test_every_method_runs_under_torchrun_and_ranks_agree(tmp_path):
    r = torchrun('methods', tmp_path / 'm.json')
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / 'm.json').read_text())
    assert set(res) == set(W.METHODS)
    assert all(v['ranks_agree'] for v in res.values()), {k: v['ranks_agree'] for k, v in res.items()}
    # methods without random draws in their steps follow the single-process run
    from drunlearn.data import ForgetSplit
    from drunlearn.train import fit
    from drunlearn.unlearning import unlearn
    import drunlearn.baselines, drunlearn.ridge
    m = W.model(); fit(m, W.data(), **W.FIT)
    split = ForgetSplit.from_range(W.data(), low=1.)
    # (NegGrad+ averages its retain and forget terms within each batch, so under DDP within each rank's share: close, not equal)
    for name, tol in (('finetune', 1e-4), ('l1_sparse', 1e-4), ('ssd', 1e-5), ('ridge_head', 1e-5), ('neggrad_plus', 5e-3)):
        u = unlearn(m, split, name, seed=0, **({'min_steps': 8} if name not in ('ssd', 'ridge_head') else {}), **W.METHODS[name])
        one = torch.cat([p.detach().flatten() for p in u.parameters()])
        assert torch.allclose(torch.tensor(res[name]['params']), one, atol=tol, rtol=0), (name, (torch.tensor(res[name]['params']) - one).abs().max())

def test_study_under_torchrun_writes_one_report_from_rank_0(tmp_path):
    out = tmp_path / 'report'
    r = torchrun('study', out)
    assert r.returncode == 0, r.stderr[-3000:]
    j = json.loads((out / 'report.json').read_text())
    assert j['distributed']['world_size'] == 2 and j['distributed']['backend'] == 'gloo'
    assert r.stdout.count('report: ') == 1          # one rank printed
    assert [p.name for p in tmp_path.iterdir()] == ['report']

def test_a_failing_rank_stops_the_run(tmp_path):
    t0 = time.perf_counter()
    r = torchrun('fail', tmp_path / 'x', timeout=240)
    assert r.returncode != 0 and 'rank 1 fails on purpose' in r.stderr
    assert time.perf_counter() - t0 < 120

def test_sharded_evaluation_under_torchrun_equals_one_process(tmp_path):
    r = torchrun('eval', tmp_path / 'e.pt')
    assert r.returncode == 0, r.stderr[-3000:]
    res = torch.load(tmp_path / 'e.pt')
    assert res['ranks_agree'] and all(res['ranks_agree'].values()), res['ranks_agree']   # also asserted in the worker
    assert res['rows_seen'] == 51        # rank 0 computed only its share, rows 0, 2, ..., 100 (rank 1: 50 rows and a padding row)
    one = W.eval_calls(W.model())        # the same calls in one process
    assert set(one) <= set(res)
    for k, v in one.items():             # 101 rows (a padded share), 1 row (fewer rows than ranks), shard=False, as_tensor
        assert res[k].shape == v.shape and res[k].dtype == v.dtype, (k, res[k].shape, v.shape, res[k].dtype, v.dtype)
        assert torch.allclose(res[k], v, atol=1e-6, rtol=0), (k, (res[k] - v).abs().max())
    assert one['pred101'].shape == (101,) and one['pred1'].shape == (1, 1) and one['eval1'].shape == (1,)
    # evaluate_unlearning of the models trained under torchrun, loaded here: only the evaluation differs
    models = {k: W.model() for k in res['states']}
    for k, m in models.items(): m.load_state_dict(res['states'][k])
    df = W.evaluation_of(models)
    assert list(df.index) == res['index'] and list(df.columns) == list(res['table']), (list(df.columns), list(res['table']))
    for c in df.columns:
        a, b = res['table'][c].numpy(), df[c].to_numpy(np.float64)
        assert np.allclose(a, b, rtol=1e-6, atol=0, equal_nan=True), (c, a, b)
