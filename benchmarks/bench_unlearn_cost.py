"""What unlearning costs against Retrain at the paper's scale: optimizer steps and wall-clock time, in one run.

The paper's image task has about 12,000 training rows and retrains for 100 epochs at batch 256 (4,700 steps).
This script builds a task of that size from the rotated digits (`copies` rotated copies of scikit-learn's digits,
16×16, AllCNN of width 0.125 by default), trains the Original briefly, and then times

- Retrain: `retrain_epochs` epochs are run and timed, and the time of the full 100 epochs is extrapolated from them
  (the cost of an epoch does not change from one epoch to the next); its steps are counted exactly;
- Finetune, Gaussian and Blindspot with the library's defaults (drunlearn's recipe), each run in full.

It prints each method's optimizer steps and seconds, and both as a share of Retrain's (the named baseline).
Usage: `PYTHONPATH=. python benchmarks/bench_unlearn_cost.py [--copies 10] [--threads 1] [--device cpu]`.
"""
import argparse, time
import torch
import drunlearn as dr
from drunlearn.datasets import rotated_digits
from drunlearn.unlearning import unlearn
from drunlearn.train import _n_batches

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--copies', type=int, default=10, help='rotated copies of the 1,257 training digits (10: about 12,600 rows)')
    p.add_argument('--width', type=float, default=0.125, help='AllCNN width')
    p.add_argument('--retrain-epochs', type=int, default=2, help='Retrain epochs actually run (the 100 are extrapolated)')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    p.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'auto'")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data = rotated_digits(size=16, copies=a.copies, seed=0)
    split = data.forget_split('train')
    n, bs = len(split), 256
    print(f'{n} training rows ({split.n_forget} to forget), AllCNN width {a.width}, device {a.device}, {a.threads} thread(s)')
    dr.set_seed(0)
    original = dr.AllCNN(in_channels=1, width=a.width)
    dr.fit(original, data.train, epochs=2, batch_size=bs, device=a.device)

    r = unlearn(original, split, 'retrain', epochs=a.retrain_epochs, min_steps=0, batch_size=bs, device=a.device).unlearning_record
    assert r['steps'] == a.retrain_epochs * _n_batches(split.n_retain, bs)
    per_epoch = r['seconds'] / a.retrain_epochs
    rows = {'retrain (100 epochs)': (100 * _n_batches(split.n_retain, bs), 100 * per_epoch)}
    for m in ('finetune', 'gaussian', 'blindspot'):
        rec = unlearn(original, split, m, device=a.device).unlearning_record   # drunlearn's recipe: the defaults
        rows[m] = (rec['steps'], rec['seconds'])
    rs, rt = rows['retrain (100 epochs)']
    print(f"{'method':22s} {'steps':>7s} {'seconds':>9s} {'steps/Retrain':>14s} {'time/Retrain':>13s}")
    for k, (s, t) in rows.items():
        print(f'{k:22s} {s:7d} {t:9.1f} {s / rs:14.3f} {t / rt:13.3f}')
    print(f'(Retrain: {a.retrain_epochs} epochs run, {per_epoch:.1f} s each, extrapolated to 100)')

if __name__ == '__main__': main()
