#!/usr/bin/env python
"""Time drunlearn.kernels against the best NumPy / SciPy / scikit-learn equivalent, in one run.

A script, not a test: `python benchmarks/bench_kernels.py --help`. Every kernel and its baseline run on the same
arrays in the same process; each is called once to compile and fault the memory in, then timed as the best of
`--repeat` calls, kernel and baseline calls interleaved. The ratio is baseline time / kernel time (above 1: the
kernel is faster). For the activation distance the script also measures the machine's read ceiling: a parallel
Numba sum over the same bytes, in the same run, and reports the kernel's bandwidth as a share of it. The radix
sort behind wasserstein_1d and roc_auc is timed against np.sort and np.argsort.
"""
import argparse, gc, os, platform, sys, time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numba
from numba import njit, prange
import scipy, sklearn
from scipy.stats import wasserstein_distance
from sklearn.metrics import roc_auc_score, roc_curve
from drunlearn import kernels as K

TARGETS = [  # (kernel, what is measured, the minimum, the smallest n it applies to)
    ('activation_distance', 'bandwidth', .8, 10**6),   # share of the read ceiling measured in the same run
    ('activation_distance', 'speed-up', 8., 10**7),    # over the NumPy expression
    ('wasserstein_1d', 'speed-up', 4., 10**6), ('roc_auc', 'speed-up', 5., 10**6)]

@njit(parallel=True, fastmath=True)
def read_ceiling_sum(a, b):
    "Sum of every element of two flat arrays: reads exactly the bytes the activation distance reads."
    s = a[0] - a[0]
    for i in prange(len(a)): s += a[i] + b[i]
    return s

def best(fns, repeat):
    "Best wall time of each of `fns` over `repeat` interleaved rounds, after one warm-up call each."
    for fn in fns: fn()
    ts = [[] for _ in fns]
    for _ in range(repeat):
        for fn, t_ in zip(fns, ts):
            gc.collect(); t = time.perf_counter(); fn(); t_.append(time.perf_counter() - t)
    return [min(t_) for t_ in ts]

def cases(dim, dtype):
    "Factories (kernel name, make) where make(n, rng) -> (size, kernel call, baseline name, baseline call, arrays for the ceiling)."
    def pair(n, rng): return rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    def mia(n, rng):
        p, t = pair(n, rng)
        def base():
            d = p - t; return np.column_stack([np.abs(d), d * d, d, t])
        return n, lambda: K.mia_features(p, t), 'NumPy column_stack of the four', base, None
    def acts(n, rng):
        rows = max(1, n // dim)
        return rng.normal(size=(rows, dim)).astype(dtype), rng.normal(size=(rows, dim)).astype(dtype)
    def rows(n, rng):
        a, b = acts(n, rng)
        return a.size, lambda: K.row_l2_dist(a, b), 'np.linalg.norm(a-b, axis=1)', lambda: np.linalg.norm(a - b, axis=1), None
    def act(n, rng):
        a, b = acts(n, rng)
        return a.size, lambda: K.activation_distance(a, b), 'np.linalg.norm(a-b, axis=1).mean()', \
            lambda: np.linalg.norm(a - b, axis=1).mean(), (a, b)
    def w1(n, rng):
        u, v = rng.normal(size=n).astype(dtype), rng.gamma(2., size=n).astype(dtype)
        return n, lambda: K.wasserstein_1d(u, v), 'scipy.stats.wasserstein_distance', lambda: wasserstein_distance(u, v), None
    def scores(n, rng):
        lab = rng.random(n) < .5; return (rng.normal(size=n) + lab).astype(dtype), lab
    def auc(n, rng):
        s, lab = scores(n, rng)
        return n, lambda: K.roc_auc(s, lab), 'sklearn roc_auc_score', lambda: roc_auc_score(lab, s), None
    def tpr(n, rng):
        s, lab = scores(n, rng)
        def base():
            fp, tp, _ = roc_curve(lab, s, drop_intermediate=False); return tp[fp <= .01].max()
        return n, lambda: K.tpr_at_fpr(s, lab, .01), 'sklearn roc_curve, max TPR with FPR<=1%', base, None
    def sort(n, rng):
        x = rng.normal(size=n).astype(dtype)
        return n, lambda: K._sorted_copy(x), 'np.sort', lambda: np.sort(x), None
    def wsort(n, rng):
        x, w = rng.normal(size=n).astype(dtype), rng.random(n)
        def base():
            o = np.argsort(x); return x[o], w[o]
        return n, lambda: K._sorted_copy(x, w), 'np.argsort, then x[o], w[o]', base, None
    return [('mia_features', mia), ('row_l2_dist', rows), ('activation_distance', act),
            ('radix sort', sort), ('radix sort, weighted', wsort),
            ('wasserstein_1d', w1), ('roc_auc', auc), ('tpr_at_fpr (1%)', tpr)]

SCALARS = ('activation_distance', 'wasserstein_1d', 'roc_auc')   # the reductions that also run at n = 1e8 with --big

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', type=float, nargs='*', default=[1e5, 1e6, 1e7], help='numbers of elements n (default 1e5 1e6 1e7; none with --big: only 1e8)')
    ap.add_argument('--big', action='store_true', help='also time the scalar reductions at n = 1e8 (needs ~6 GB of memory)')
    ap.add_argument('--repeat', type=int, default=5, help='timed calls per kernel and baseline; the best counts (default 5)')
    ap.add_argument('--dim', type=int, default=64, help='features per row of the activation arrays (rows = n / dim; default 64)')
    ap.add_argument('--dtype', choices=['float32', 'float64'], default='float64', help='element type (default float64)')
    ap.add_argument('--only', nargs='+', default=None, help='time only kernels whose name starts with one of these')
    ap.add_argument('--threads', type=int, default=None, help='Numba threads (default: all)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    K._threads()                                  # start the pool as the kernels do (passive waiting)
    if args.threads: numba.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    print(f"drunlearn.kernels benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba threads {numba.get_num_threads()} ({numba.threading_layer()} layer), {dtype}, best of {args.repeat}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, numba {numba.__version__}")
    print(f"command: {' '.join([Path(sys.argv[0]).name] + (sys.argv[1:] if argv is None else list(argv)))}\n")
    head = f"{'kernel':<22}{'n':>11}  {'kernel ms':>10}  {'baseline ms':>11}  {'ratio':>7}  baseline / notes"
    print(head); print('-' * len(head))
    runs = [(int(n), False) for n in args.sizes] + ([(10**8, True)] if args.big else [])
    verdicts = []
    for n, scalars_only in runs:
        for name, make in cases(args.dim, dtype):
            if scalars_only and name not in SCALARS: continue
            if args.only and not any(name.startswith(o) for o in args.only): continue
            size, ours, base_name, base, extra = make(n, np.random.default_rng(args.seed))
            fns = [ours, base]
            if extra is not None:
                a, b = (x.reshape(-1) for x in extra)
                fns.append(lambda: read_ceiling_sum(a, b))
            t_ours, t_base, *t_ceil = best(fns, args.repeat)
            ratio = t_base / t_ours
            note = base_name
            if extra is not None:
                t_ceil = t_ceil[0]
                gbytes = (a.nbytes + b.nbytes) / 1e9; share = t_ceil / t_ours
                note += f"; {gbytes / t_ours:.1f} GB/s = {share:.0%} of the read ceiling {gbytes / t_ceil:.1f} GB/s"
            got = {'speed-up': ratio, 'bandwidth': share if extra is not None else None}
            verdicts += [(name, size, what, got[what], want) for k, what, want, n_min in TARGETS
                         if k == name and size >= n_min and got[what] is not None]
            print(f"{name:<22}{size:>11.0e}  {t_ours * 1e3:>10.2f}  {t_base * 1e3:>11.2f}  {ratio:>6.1f}x  {note}", flush=True)
            del ours, base, extra; gc.collect()
    if verdicts:
        print('\ntargets:')
        for name, size, what, got, want in verdicts:
            fmt = (lambda x: f"{x:.1f}x") if what == 'speed-up' else (lambda x: f"{x:.0%}")
            print(f"  {name:<20} n={size:.0e}  {what:<8} {fmt(got):>6} (target >= {fmt(want)})  {'met' if got >= want else 'MISSED'}")

if __name__ == '__main__': main()
