#!/usr/bin/env python
"""Time one epoch of `drunlearn.train.fit` against a plain hand-written PyTorch loop (a script, not a test).

Usage (from the repository root):  python benchmarks/bench_fit.py [--device cpu|cuda|all] [--repeats 3]

For each model (the paper's AllCNN on random 32x32 images, and an MLP on random features) and each device, it times,
in the same process and on the same data:
  - `fit(model, (x, y), epochs=1, scheduler=None, progress=False)`: one epoch of drunlearn's loop (Adam, L1 loss);
  - a plain loop: `DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`, Adam, `nn.L1Loss`, zero_grad/backward/step.
Each is run once to warm up, then `--repeats` times, interleaved; the best time is reported as samples per second, with the
ratio fit / plain (above 1: fit is faster). On CUDA the timings synchronise the device, and fit runs once more with
`amp="bf16"`.
"""
import argparse, time
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from drunlearn.models import AllCNN, MLP
from drunlearn.train import fit

def plain_epoch(model, x, y, batch_size, device, lr=0.01):
    "The hand-written baseline: what a user would write without drunlearn."
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    crit = nn.L1Loss()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, pin_memory=device.type == 'cuda')
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        loss = crit(model(xb).squeeze(1), yb)
        opt.zero_grad(); loss.backward(); opt.step()

def _time(f, device):
    if device.type == 'cuda': torch.cuda.synchronize()
    t = time.perf_counter(); f()
    if device.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - t

def bench(name, make_model, x, y, device, batch_size, repeats):
    "Warm up each run once, then time them in turn `repeats` times (interleaved, so load drifts hit all alike)."
    model = make_model()
    runs = {'plain loop': lambda: plain_epoch(model, x, y, batch_size, device),
            'fit': lambda: fit(model, (x, y), epochs=1, batch_size=batch_size, scheduler=None, progress=False, device=device)}
    if device.type == 'cuda':
        runs['fit bf16'] = lambda: fit(model, (x, y), epochs=1, batch_size=batch_size, scheduler=None, progress=False, device=device, amp='bf16')
    for f in runs.values(): f()
    secs = {k: float('inf') for k in runs}
    for _ in range(repeats):
        for k, f in runs.items(): secs[k] = min(secs[k], _time(f, device))
    base = secs['plain loop']
    for k, s in secs.items():
        print(f"{device.type:5} {name:34} {k:11} {len(x) / s:10,.0f} samples/s  {s:7.3f} s/epoch  ratio vs plain {base / s:5.2f}")

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='all', choices=['cpu', 'cuda', 'all'])
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: leave as is)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    devices = [torch.device('cpu')] if a.device == 'cpu' else [torch.device('cuda')] if a.device == 'cuda' else \
              [torch.device('cpu')] + ([torch.device('cuda')] if torch.cuda.is_available() else [])
    if a.device == 'all' and not torch.cuda.is_available(): print("(no CUDA device here: CPU only)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {a.batch_size}")
    g = torch.Generator().manual_seed(0)
    for dev in devices:
        cuda = dev.type == 'cuda'
        n_img, width = (8192, 1.0) if cuda else (512, 0.25)
        xi, yi = torch.rand(n_img, 3, 32, 32, generator=g), torch.rand(n_img, generator=g) * 100
        bench(f"AllCNN(width={width}) 32x32, n={n_img}", lambda: AllCNN(width=width), xi, yi, dev, a.batch_size, a.repeats)
        n_tab = 65536 if cuda else 16384
        xt, yt = torch.randn(n_tab, 64, generator=g), torch.randn(n_tab, generator=g)
        bench(f"MLP(64, (256, 256)), n={n_tab}", lambda: MLP(64, hidden=(256, 256)), xt, yt, dev, a.batch_size, a.repeats)

if __name__ == '__main__': main()
