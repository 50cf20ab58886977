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

def test_one_title_per_notebook():
    "Only the first cell holds an H1 (the page title); a stray '# ' line would render as a second title."
    import json
    bad = []
    for p in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        if any(part.startswith(('.', '_')) for part in p.relative_to(ROOT / 'nbs').parts): continue
        cells = json.loads(p.read_text())['cells']
        for i, c in enumerate(cells):
            if c['cell_type'] != 'markdown' or i == 0: continue
            src, fenced = ''.join(c['source']), False
            for line in src.split('\n'):
                if line.startswith('```'): fenced = not fenced
                if not fenced and line.startswith('# '): bad.append(f'{p.relative_to(ROOT)} cell {i}: {line[:60]}')
    assert not bad, bad
