"Execute every notebook of nbs/ (tutorials included) as one pytest test each."
import os
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as _run_notebook  # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'

def notebooks():
    "Notebooks under nbs/, skipping hidden and `_`-prefixed files and folders, in reading order."
    return sorted(p for p in NBS.rglob('*.ipynb')
                  if not any(part.startswith(('.', '_')) for part in p.relative_to(NBS).parts))

def flags():
    "Cells flagged with these are skipped, unless DRUNLEARN_TEST_FLAGS names the flag (e.g. 'slow')."
    skip = get_config(ROOT).tst_flags
    skip = skip.split() if isinstance(skip, str) else list(skip)
    force = os.environ.get('DRUNLEARN_TEST_FLAGS', '').split()
    return skip, force

def test_there_are_notebooks():
    nbs = [p.relative_to(NBS).as_posix() for p in notebooks()]
    assert 'index.ipynb' in nbs and '01_core.ipynb' in nbs, nbs

@pytest.mark.notebook
@pytest.mark.parametrize('nb', notebooks(), ids=lambda p: p.relative_to(NBS).as_posix())
def test_notebook(nb):
    skip, force = flags()
    ok, secs = _run_notebook(nb, skip_flags=skip, force_flags=force, basepath=ROOT, showerr=True)
    assert ok, f'{nb.relative_to(ROOT)} failed (the traceback is printed above)'
