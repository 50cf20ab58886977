"""Benchmark (a script, not a test): membership-attack features from a model, batched vs one sample at a time.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_mia.py [--model mlp|allcnn|both] [--n 4000] [--width 1.0] [--threads N] [--device cpu|cuda]

On a CPU, the full-width AllCNN is slow in both paths (pass --width 0.25 or a smaller --n); on a GPU use the defaults.

Times `drunlearn.metrics.attack_features` (batched inference with `drunlearn.train.predict`, then the
`mia_features` Numba kernel) against the loop of the reference code (one forward pass per sample and a
`.item()` per feature), checks that both give the same features, and prints the ratio (target: >= 20x).
"""
import argparse, time
import numpy as np
import torch

from drunlearn.core import get_device, set_seed
from drunlearn.data import ArrayDataset
import drunlearn.models as models
from drunlearn.attacks import attack_features

def one_at_a_time(model, ds, device):
    "The reference code's way: a forward pass per sample, features read back with .item()."
    rows = []
    model.eval()
    with torch.no_grad():
        for i in range(len(ds)):
            x, y = ds[i]
            p = model(x[None].to(device)).reshape(-1)
            d = p - y.reshape(-1).to(device)
            rows.append([d.abs().mean().item(), (d * d).mean().item(), d.mean().item(), y.float().mean().item()])
    return np.array(rows)

def best_time(fn, repeats):
    out, best = None, float('inf')
    for _ in range(repeats):
        if torch.cuda.is_available(): torch.cuda.synchronize()
        t = time.perf_counter(); out = fn()
        if torch.cuda.is_available(): torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, out

def bench(kind, n, device, repeats, width=1.0):
    set_seed(0)
    if kind == 'mlp': x, model = torch.randn(n, 16), models.MLP(16)   # the default hidden=(64, 64)
    else: x, model = torch.randn(n, 3, 32, 32), models.AllCNN(width=width)
    ds = ArrayDataset(x, torch.randn(n) * 10 + 40)
    model = model.to(device).eval()
    attack_features(model, ds, batch_size=1024)                       # warm-up (JIT compile, allocator)
    one_at_a_time(model, torch.utils.data.Subset(ds, range(min(n, 50))), device)
    t_batch, f_batch = best_time(lambda: attack_features(model, ds, batch_size=1024), repeats)
    t_loop, f_loop = best_time(lambda: one_at_a_time(model, ds, device), 1)
    np.testing.assert_allclose(f_batch, f_loop, rtol=1e-3, atol=1e-3)
    name = kind if kind == 'mlp' else f"allcnn(width={width:g})"
    print(f"{name:18s} n={n:6d} {str(device):5s}  batched {t_batch*1e3:9.1f} ms   one-at-a-time {t_loop*1e3:9.1f} ms   "
          f"ratio {t_loop / t_batch:6.1f}x  (target >= 20x)", flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='both', choices=['mlp', 'allcnn', 'both'])
    ap.add_argument('--n', type=int, default=4000)
    ap.add_argument('--device', default=None)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s choice)')
    ap.add_argument('--width', type=float, default=1.0, help='AllCNN filter-count multiplier')
    a = ap.parse_args()
    dev = get_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    print(f"MIA features from a model (batched inference + kernels) vs a one-sample-at-a-time loop; torch threads: {torch.get_num_threads()}", flush=True)
    for kind in (['mlp', 'allcnn'] if a.model == 'both' else [a.model]): bench(kind, a.n, dev, a.repeats, a.width)
