"""Thumbnails of a benchmark's public stimuli, for the benchmark pages: the n-th image of its stimulus table."""
from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.storage import ObjectStore

SIZE = 128
_lock = threading.Lock()


class NotPublic(Exception):
    pass


def _local_copy(store: ObjectStore, key: str, sha256: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "cortexscore-thumbnails"
    folder.mkdir(exist_ok=True)
    path = folder / f"{sha256}{Path(key).suffix}"
    with _lock:
        if not path.exists():
            partial = path.with_suffix(".partial")
            with open(partial, "wb") as out:
                for chunk in store.iter_chunks(key):
                    out.write(chunk)
            partial.replace(path)
    return path


@lru_cache(maxsize=512)
def _thumbnail(zip_path: str, filename: str) -> bytes:
    from PIL import Image

    with zipfile.ZipFile(zip_path) as archive, archive.open(filename) as handle:
        image = Image.open(io.BytesIO(handle.read())).convert("RGB")
    image.thumbnail((SIZE, SIZE))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def stimulus_thumbnail(store: ObjectStore, spec: BenchmarkSpec, index: int) -> bytes:
    """PNG bytes of stimulus ``index`` (in table order); IndexError past the end, NotPublic for private data."""
    if not spec.public or spec.stimulus_set.access != "public":
        raise NotPublic(f"the stimuli of {spec.identifier} are private")
    files = spec.stimulus_set.files
    table = pd.read_csv(_local_copy(store, files["csv"].key, files["csv"].sha256), dtype={"stimulus_id": str})
    if not 0 <= index < len(table):
        raise IndexError(index)
    zip_path = _local_copy(store, files["zip"].key, files["zip"].sha256)
    return _thumbnail(str(zip_path), str(table["filename"].iloc[index]))
