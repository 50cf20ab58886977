"The drunlearn command as a user runs it: a separate process, its exit status, what it prints and leaves behind."
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}

def drunlearn(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, '-m', 'drunlearn', *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)

def test_help_lists_every_option():
    r = drunlearn('--help')
    assert r.returncode == 0
    for opt in ('--dataset', '--forget', '--methods', '--epochs', '--seeds', '--device', '--out', '--quick', '--config'):
        assert opt in r.stdout, opt

def test_help_fits_a_terminal():
    r = subprocess.run([sys.executable, '-m', 'drunlearn', '--help'], env={**ENV, 'COLUMNS': '80'}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and max(len(l) for l in r.stdout.splitlines()) <= 80, r.stdout

def test_help_names_match_the_registries():
    "The names --help lists are kept in drunlearn.cli (so the parser needs no torch); they must equal the registries."
    from drunlearn import cli
    from drunlearn.datasets import DATASETS
    from drunlearn.unlearning import METHODS
    from drunlearn.study import PRESETS
    assert list(cli._DATASETS) == list(DATASETS)
    assert list(cli._PRESET_DATASETS) == [k for k in DATASETS if k in PRESETS]
    assert list(cli._METHODS) == [m for m in METHODS if m != 'retrain']

def test_help_and_usage_errors_import_no_heavy_modules():
    "--help and argument errors answer without importing torch, scikit-learn or the study stack."
    code = ("import contextlib, io, sys\n"
            "import drunlearn.cli as c\n"
            "c._build_parser().format_help()\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "    codes = c.main(['--help']), c.main(['--frobnicate']), c.main(['--epochs', 'many'])\n"
            "heavy = ('torch', 'sklearn', 'pandas', 'numba', 'matplotlib', 'drunlearn.study', 'drunlearn.datasets', 'drunlearn.unlearning')\n"
            "print(codes, sorted(m for m in heavy if m in sys.modules))\n")
    r = subprocess.run([sys.executable, '-c', code], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '(0, 2, 2) []', r.stdout

@pytest.mark.parametrize('args, message', [
    (['--methods', 'blindspot,oops'], "methods must be one of"),
    (['--dataset', 'mnist'], "dataset must be one of"),
    (['--epochs', '-3'], "epochs must be a positive integer"),
    (['--forget', 'y<=<3'], "is not understood"),
    (['--device', 'tpu'], "device"),
    (['--config', 'missing.toml'], "does not exist"),
    (['--frobnicate'], "unrecognized arguments: --frobnicate"),
])
def test_bad_options_fail_fast_without_traceback(tmp_path, args, message):
    r = drunlearn(*args, '--out', str(tmp_path / 'rep'), cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert 'original trained' not in r.stdout and not (tmp_path / 'rep').exists()

def test_bad_config_key_names_the_key(tmp_path):
    (tmp_path / 'c.yaml').write_text('seeds: [0]\nlearning_rate: 0.1\n')
    r = drunlearn('--config', str(tmp_path / 'c.yaml'), cwd=tmp_path)
    assert r.returncode == 2 and "unknown configuration key(s) ['learning_rate']" in r.stderr and 'allowed keys' in r.stderr

def test_quick_run_writes_a_report(tmp_path):
    r = drunlearn('--quick', '--methods', 'all', '--out', str(tmp_path / 'rep'), cwd=tmp_path)   # every method, each given only options it takes
    assert r.returncode == 0, r.stderr[-3000:]
    files = sorted(p.name for p in (tmp_path / 'rep').iterdir())
    assert files == sorted(['report.json', 'report.md', 'relative_difference.png', 'forget_retain.png', 'mia_roc.png', 'gaps.png'])
    from drunlearn.cli import _METHODS
    assert all(m in r.stdout for m in _METHODS) and 'report:' in r.stdout
    assert [p.name for p in tmp_path.iterdir()] == ['rep']   # no temporary folder left

@pytest.mark.parametrize('sig, status, word', [(signal.SIGINT, 130, 'interrupted'), (signal.SIGTERM, 143, 'terminated')])
def test_interrupted_run_leaves_no_report(tmp_path, sig, status, word):
    p = subprocess.Popen([sys.executable, '-m', 'drunlearn', '--quick', '--out', str(tmp_path / 'rep')], cwd=tmp_path, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    line = ''
    while time.time() < deadline:   # wait until training has started, then interrupt
        line = p.stdout.readline()
        if 'original trained' in line or not line: break
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode == status, (p.returncode, err[-2000:])
    assert f'{word}; no new report was written' in err
    assert list(tmp_path.iterdir()) == []
