"""What exact ridge-head unlearning costs: deleting rows from the statistics, against refitting the head and against Retrain.

An MLP regressor (16 inputs, hidden layers of 64 and 32) on n synthetic rows, a tenth of them to forget. Timed, in
one run and on the same machine:

- delete: the forget rows' features through the frozen body, subtracted from the statistics, and a Cholesky solve
  (`RidgeHead.update(..., sign=-1)` then `solve`): O(|D_f|·d² + d³);
- refit: the ridge head fitted from scratch on the retain rows (a pass over D_r through the body, then a solve);
- Retrain: one epoch of the paper's recipe on D_r is run and timed, and 100 epochs are extrapolated from it.

Both ridge paths give the same head (checked to 1e-8 relative). Ratios are against the delete path.
Usage: `PYTHONPATH=. python benchmarks/bench_ridge.py [--sizes 1e5 1e6] [--threads 1]`.
"""
import argparse, time
import numpy as np, torch
from drunlearn.data import ForgetSplit
from drunlearn.models import MLP
from drunlearn.ridge import RidgeHead
from drunlearn.unlearning import unlearn

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', nargs='*', type=float, default=[1e5, 1e6], help='training rows')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    warm = ForgetSplit.from_random((np.zeros((2048, 16), np.float32), np.zeros(2048, np.float32)), 0.1, seed=0)
    unlearn(MLP(16, hidden=(64, 32)), warm, 'retrain', epochs=1, min_steps=0)   # first-call costs out of the timings
    print(f"{'rows':>9s} {'delete s':>9s} {'refit s':>9s} {'Retrain s':>10s} {'refit/delete':>13s} {'Retrain/delete':>15s}")
    for n in map(int, a.sizes):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, 16)).astype(np.float32); y = (np.sin(x[:, 0]) + x[:, 1] ** 2).astype(np.float32)
        split = ForgetSplit.from_random((x, y), 0.1, seed=0)
        torch.manual_seed(0); model = MLP(16, hidden=(64, 32))
        full = RidgeHead.of(model).update(model, split.dataset)          # statistics kept from training time
        t0 = time.perf_counter(); w_del = full.update(model, split.forget, -1).solve(); t_del = time.perf_counter() - t0
        t0 = time.perf_counter(); w_ref = RidgeHead.of(model).update(model, split.retain).solve(); t_ref = time.perf_counter() - t0
        assert ((w_del - w_ref).abs().max() / w_ref.abs().max()) < 1e-8
        r = unlearn(model, split, 'retrain', epochs=1, min_steps=0).unlearning_record
        t_ret = 100 * r['seconds']
        print(f'{n:9.0e} {t_del:9.2f} {t_ref:9.2f} {t_ret:10.1f} {t_ref / t_del:13.1f} {t_ret / t_del:15.0f}', flush=True)

if __name__ == '__main__': main()
