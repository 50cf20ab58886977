"""How `evaluate_unlearning` scales with the number of rows: time, peak memory and the fitted scaling exponent.

Three `nn.Linear(16, 1)` models (inference costs next to nothing, so the evaluation itself is measured) are evaluated
with default options on n training rows (a third of them to forget) and n/5 test rows, for n = 10^4, 10^5 and
10^6 (and 10^7 with `--big`). Each size runs in a fresh process, so its peak memory is its own. Printed per size:
seconds, the peak resident memory added during the call (Linux: the high-water mark is reset just before it), that
peak as a multiple of the prediction arrays (three models' float32 predictions on the training and test rows), and
at the end the exponent b of time ≈ a·n^b fitted over the sizes from 10^5 on.
Targets (issue 16): b ≤ 1.1 over 10^5–10^7, peak ≤ 3× the prediction arrays, 10^6 training rows in under a minute.
Usage: `PYTHONPATH=. python benchmarks/bench_evaluate.py [--sizes 1e4 1e5 1e6] [--big] [--no-mia] [--threads 1]`.
"""
import argparse, json, math, os, subprocess, sys, time

def _one(n:int, mia:bool, threads:int)->dict:
    "Evaluate three linear models on n training rows; returns seconds and peak added memory (bytes)."
    import numpy as np, torch
    torch.set_num_threads(threads)
    from drunlearn.data import ArrayDataset, ForgetSplit
    from drunlearn.evaluation import evaluate_unlearning
    rng = np.random.default_rng(0)
    def data(m):
        x = rng.normal(size=(m, 16)).astype(np.float32)
        return ArrayDataset(x, (x[:, 0] + 0.1 * rng.normal(size=m)).astype(np.float32))
    train, test = data(n), data(max(n // 5, 10))
    split = ForgetSplit.from_range(train, low=float(np.quantile(train.y.numpy(), 2 / 3)))
    tsplit = split.apply(test)
    torch.manual_seed(0)
    models = {k: torch.nn.Linear(16, 1) for k in ('original', 'retrain', 'method')}
    def rss(field):
        with open('/proc/self/status') as f: return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field))
    small = ForgetSplit.from_range(data(2000), low=1.)                         # warm up on small data: Numba compiles,
    evaluate_unlearning(models, small, small.apply(data(400)), mia=mia)          # scikit-learn and the rest get imported
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')            # reset the peak resident memory
    except OSError: pass
    base = rss('VmRSS:')
    t0 = time.perf_counter()
    df = evaluate_unlearning(models, split, tsplit, mia=mia)
    secs = time.perf_counter() - t0
    return dict(n=n, seconds=secs, peak_added=max(rss('VmHWM:') - base, 0), preds=3 * (n + len(test)) * 4,
                attrs={k: v for k, v in df.attrs.items() if k.startswith('mia')})

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', nargs='*', type=float, default=[1e4, 1e5, 1e6], help='training rows per run')
    p.add_argument('--big', action='store_true', help='also 10^7 training rows')
    p.add_argument('--no-mia', dest='mia', action='store_false', help='skip the membership attacks')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    p.add_argument('--one', type=float, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: print(json.dumps(_one(int(a.one), a.mia, a.threads))); return
    sizes = [int(s) for s in a.sizes] + ([10 ** 7] if a.big else [])
    rows = []
    print(f"evaluate_unlearning, default options{'' if a.mia else ', mia=False'}, {a.threads} torch thread(s)")
    print(f"{'train rows':>11s} {'seconds':>9s} {'peak MB':>9s} {'× preds':>8s}  attacks")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, '--one', str(n), '--threads', str(a.threads)] + ([] if a.mia else ['--no-mia']),
                             capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': os.environ.get('PYTHONPATH', '.')})
        if out.returncode: print(out.stderr[-2000:]); sys.exit(1)
        r = json.loads(out.stdout.strip().splitlines()[-1]); rows.append(r)
        used = {k: v for k, v in r['attrs'].items() if k in ('mia_members', 'mia_draws')}
        print(f"{n:11.0e} {r['seconds']:9.2f} {r['peak_added'] / 2**20:9.1f} {r['peak_added'] / r['preds']:8.2f}  {used}", flush=True)
    big = [r for r in rows if r['n'] >= 10 ** 5]
    if len(big) >= 2:
        xs, ys = [math.log(r['n']) for r in big], [math.log(r['seconds']) for r in big]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        print(f"scaling exponent over {big[0]['n']:.0e}–{big[-1]['n']:.0e}: {b:.2f}")

if __name__ == '__main__': main()
