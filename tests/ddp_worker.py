"""Run by `torchrun --nproc-per-node 2` from tests/test_distributed.py (gloo, CPU): one job per call, results from rank 0."""
import json, os, sys
import numpy as np
import torch
torch.set_num_threads(1)
from drunlearn.distributed import init_distributed, dist_info

def data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g); y = x[:, 0] * 2 - x[:, 1] + 0.1 * torch.randn(n, generator=g)
    return x, y

def model():
    from drunlearn.models import MLP
    torch.manual_seed(0)
    return MLP(4, hidden=(16,))

FIT = dict(epochs=3, batch_size=32, lr=0.01, scheduler=None, seed=1)
METHODS = dict(finetune={}, neggrad_plus={}, l1_sparse={}, blindspot=dict(bs_min_steps=4), gaussian={}, scrub={}, salun={},
               bad_teacher={}, ssd={}, ridge_head={})

def main(job, out):
    init_distributed(backend='gloo', timeout_s=60)
    rank, world = dist_info()
    from drunlearn.train import fit
    if job == 'fail':
        if rank == 1: raise RuntimeError('rank 1 fails on purpose')
        m = model(); fit(m, data(), **FIT)                  # rank 0 waits in a collective until the launcher stops it
    if job == 'fit':
        m = model(); fit(m, data(), **FIT)
        if rank == 0: torch.save(m.state_dict(), out)
    if job == 'methods':
        from drunlearn.data import ForgetSplit
        from drunlearn.unlearning import unlearn
        import drunlearn.baselines, drunlearn.ridge
        m = model(); fit(m, data(), **FIT)
        split = ForgetSplit.from_range(data(), low=1.)
        res = {}
        for name, opts in METHODS.items():
            u = unlearn(m, split, name, seed=0, **({'min_steps': 8} if name not in ('ssd', 'ridge_head') else {}), **opts)
            flat = torch.cat([p.detach().flatten() for p in u.parameters()])
            gathered = [torch.zeros_like(flat) for _ in range(world)]
            torch.distributed.all_gather(gathered, flat)   # the ranks must agree
            res[name] = dict(params=flat.tolist(), ranks_agree=all(torch.equal(gathered[0], t) for t in gathered))
        if rank == 0: json.dump(res, open(out, 'w'))
    if job == 'study':
        from drunlearn.cli import main as cli
        code = cli(['--quick', '--methods', 'finetune,blindspot', '--attacks', 'none', '--out', out])
        assert code == 0, code
    torch.distributed.barrier()                          # nobody leaves while another rank still talks
    torch.distributed.destroy_process_group()

if __name__ == '__main__': main(sys.argv[1], sys.argv[2])
