"The docs pre-processing (what nbdev-docs does before Quarto renders) succeeds on every notebook."
import shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def test_docs_preprocessing(tmp_path, monkeypatch):
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    # work on a copy so concurrent runs and the user's _proc/ are not touched
    for name in ('nbs', 'pyproject.toml', 'drunlearn'):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    cache = proc_nbs(str(tmp_path / 'nbs'), n_workers=0)
    nbs = sorted(p.relative_to(tmp_path / 'nbs') for p in (tmp_path / 'nbs').rglob('*.ipynb'))
    done = sorted(p.relative_to(cache) for p in Path(cache).rglob('*.ipynb'))
    assert nbs and done == nbs, (nbs, done)
    assert (Path(cache) / '_quarto.yml').exists() and (Path(cache) / 'sidebar.yml').exists()
