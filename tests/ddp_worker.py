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

def eval_calls(m)->dict:
    "`predict` and `evaluate` on 101 rows (odd: the second rank pads) and on 1 row (fewer rows than ranks)."
    from drunlearn.train import predict, evaluate
    x, y = data(101, seed=2)
    t = lambda a: torch.as_tensor(a)
    return dict(pred101=t(predict(m, (x, y), batch_size=16)), eval101=t(evaluate(m, (x, y), 'mse', batch_size=16)),
                pred1=t(predict(m, x[:1])), eval1=t(evaluate(m, (x[:1], y[:1]))),
                tensor101=predict(m, x, batch_size=16, as_tensor=True), whole101=t(predict(m, (x, y), shard=False)))

def unlearning_models()->dict:
    "The Original, Retrain and a fine-tuned model, trained on `data()` with the forget rows of target 1 and up."
    from drunlearn.data import ForgetSplit
    from drunlearn.train import fit
    from drunlearn.unlearning import unlearn
    m = model(); fit(m, data(), **FIT)
    split = ForgetSplit.from_range(data(), low=1.)
    g = model(); fit(g, split.retain, **FIT)
    return dict(original=m, retrain=g, finetune=unlearn(m, split, 'finetune', seed=0, min_steps=8))

def evaluation_of(models:dict):
    "`evaluate_unlearning` of `models` against Retrain on the training split and a test split of 120 rows."
    from drunlearn.data import ForgetSplit
    from drunlearn.evaluation import evaluate_unlearning
    split = ForgetSplit.from_range(data(), low=1.)
    return evaluate_unlearning(models, split, split.apply(data(120, seed=3)), seed=0, times={k: 1. for k in models})

def on_every_rank(t:torch.Tensor, world:int)->bool:
    "Whether every rank holds a tensor equal to `t`."
    t = t.detach().double().contiguous()
    parts = [torch.empty_like(t) for _ in range(world)]
    torch.distributed.all_gather(parts, t)
    return all(torch.equal(parts[0], p) for p in parts)

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
    if job == 'eval':
        res = eval_calls(model())
        from drunlearn.train import predict
        m, seen = model(), []
        m.register_forward_hook(lambda mod, inp, out: seen.append(len(inp[0])))
        predict(m, data(101, seed=2), batch_size=16)
        res['rows_seen'] = sum(seen)                     # this rank's share: ceil(101 / 2) rows, not 101
        models = unlearning_models()
        df = evaluation_of(models)
        res['states'] = {k: m.state_dict() for k, m in models.items()}
        res['table'] = {c: torch.tensor(df[c].to_numpy(np.float64)) for c in df.columns}
        res['index'] = list(df.index)
        agree = {k: on_every_rank(v, world) for k, v in res.items() if isinstance(v, torch.Tensor)}
        agree |= {f'table.{c}': on_every_rank(v, world) for c, v in res['table'].items()}
        assert all(agree.values()), {k: v for k, v in agree.items() if not v}
        res['ranks_agree'] = agree
        if rank == 0: torch.save(res, out)
    if job == 'study':
        from drunlearn.cli import main as cli
        code = cli(['--quick', '--methods', 'finetune,blindspot', '--attacks', 'none', '--out', out])
        assert code == 0, code
    torch.distributed.barrier()                          # nobody leaves while another rank still talks
    torch.distributed.destroy_process_group()

if __name__ == '__main__': main(sys.argv[1], sys.argv[2])
