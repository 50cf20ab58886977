"The README's Python example runs as written, on a small model and dataset defined here."
import re
from pathlib import Path
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

def test_bring_your_own_model_example(capsys):
    block = re.search(r'## Bring your own model.*?```python\n(.*?)```', (ROOT / 'README.md').read_text(), re.S).group(1)
    rng = np.random.default_rng(0)
    def data(n):
        x = rng.uniform(0, 60, (n, 1)).astype(np.float32)
        return torch.utils.data.TensorDataset(torch.tensor(x / 60), torch.tensor(x[:, 0] + rng.normal(0, 2, n).astype(np.float32)))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    from drunlearn.train import fit
    fit(model, data(200), epochs=30, progress=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ns = dict(train_data=data(200), test_data=data(100), model=model)
    exec(block, ns)
    out = capsys.readouterr().out
    assert 'blindspot' in out and 'forget_error' in out
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())   # the user's model is untouched
    assert ns['forgotten'] is not model and ns['forgotten'].unlearning_record['method'] == 'blindspot'
