"""What the per-example audit costs: shadow runs per minute, against one Retrain of the same model, in one run.

The task is the default study's (rotated digits at 16x16, the `digits` preset: an MLP 256-256-128, 40 epochs at
batch 128). A shadow run trains an Original on a random half of the training rows, unlearns a tenth of that half
with the method under test and retrains without it, then computes every model's residuals on all rows
(`drunlearn.audit.shadow_runs`). Timed in the same process:

- Retrain: one `unlearn(..., 'retrain')` of the study's Original (the baseline a user would otherwise pay for);
- shadow runs with `--jobs 1` and, if given, more worker processes (joblib, one independent model per process);
- the scoring: `audit()` over the runs (U-LiRA, LiRA, RMIA with bootstrap intervals), which should be negligible.

Nothing is cached (each run trains). Ratios are shadow-run seconds over Retrain seconds.
Usage: `PYTHONPATH=. python benchmarks/bench_audit.py [--shadows 8] [--jobs 1 2] [--method gaussian] [--device cpu]`.
"""
import argparse, time
import torch
from drunlearn.study import StudyConfig, _study_data, _make_model
from drunlearn.core import set_seed, get_device
from drunlearn.train import fit
from drunlearn.unlearning import unlearn
from drunlearn.audit import shadow_runs, audit

def make_model_factory(bundle, cfg):
    def make_model(seed): set_seed(seed); return _make_model(bundle, cfg['model'])
    return make_model

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--shadows', type=int, default=8, help='shadow runs per timing')
    p.add_argument('--jobs', nargs='*', type=int, default=[1, 2], help='worker processes to time')
    p.add_argument('--method', default='gaussian', help='the unlearning method under test')
    p.add_argument('--device', default='cpu', help="'cpu', 'cuda', ...")
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads per process')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = StudyConfig(device=a.device).check().resolved()
    bundle, splits = _study_data(cfg)
    dev = get_device(a.device)
    recipe = dict(loss=bundle.loss, epochs=cfg['epochs'], lr=cfg['lr'], batch_size=cfg['batch_size'], device=dev)
    make_model = make_model_factory(bundle, cfg)
    def train(model, ds, seed): fit(model, ds, seed=seed, **recipe)
    original = make_model(0); train(original, bundle.train, 0)
    t0 = time.perf_counter(); unlearn(original, splits['train'], 'retrain', min_steps=0, **recipe); t_retrain = time.perf_counter() - t0
    print(f"task: {bundle.name}, {len(bundle.train)} training rows, MLP, {cfg['epochs']} epochs; method {a.method}; device {dev}")
    print(f"Retrain of the Original: {t_retrain:.1f} s")
    print(f"{'jobs':>5s} {'shadows':>8s} {'seconds':>8s} {'per minute':>11s} {'s per run':>10s} {'run / Retrain':>14s} {'audit() s':>10s}")
    opts = dict(loss=bundle.loss, device=dev)
    for jobs in a.jobs:
        t0 = time.perf_counter()
        runs = shadow_runs(bundle.train, make_model, train, a.method, method_options=opts, n_shadows=a.shadows, n_jobs=jobs, device=dev)
        t = time.perf_counter() - t0
        t0 = time.perf_counter(); audit(runs, targets=min(4, a.shadows - 1)); t_audit = time.perf_counter() - t0
        print(f'{jobs:5d} {a.shadows:8d} {t:8.1f} {60 * a.shadows / t:11.1f} {t / a.shadows:10.2f} {t / a.shadows / t_retrain:14.2f} {t_audit:10.2f}', flush=True)

if __name__ == '__main__': main()
