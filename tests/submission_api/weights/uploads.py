"""Helpers of the weight-upload tests (issue 13): raw API calls, and a submission whose model loads its weights."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx
import torch

from tests.submission_api.platforms import WEIGHTS_ZIP_LIMIT
from tests.zips import tiny_model_source, tutorial_files, write_zip


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def declare(client: httpx.Client, token: str, data: bytes, name: str = "w.bin", sha256: str | None = None,
            size: int | None = None) -> httpx.Response:
    return client.post("/weights", headers=auth(token), json={
        "name": name, "sha256": sha256 or hashlib.sha256(data).hexdigest(), "size": len(data) if size is None else size})


def put_chunk(client: httpx.Client, token: str, upload_id: str, data: bytes, start: int, total: int) -> httpx.Response:
    return client.put(f"/weights/{upload_id}", content=data, headers={
        **auth(token), "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"})


def detail_code(response: httpx.Response) -> str:
    return response.json()["detail"]["code"]


# The tiny model of tests/zips.py, whose conv1 comes from the uploaded weights file, read where the scorer shows it.
WEIGHTS_MODEL = tiny_model_source("weighted") + '''
import os

from cortexscore.weights import weights_path

path = weights_path("tiny.pt")
state = torch.load(path)
# The file is the uploaded one: its marker tensor, and padding that makes it bigger than any zip allowed here.
assert torch.equal(state["marker"], torch.arange(16, dtype=torch.float32)), state["marker"]
print(f"loaded {path} with {state['padding'].numel()} padding values", flush=True)
try:  # the mount itself is read-only: not even the file's owner could make it writable
    os.chmod(path, 0o666)
except OSError as error:
    print(f"weights are read-only: {error.strerror}", flush=True)
else:
    raise RuntimeError(f"{path} could be made writable")
model.model.conv1.load_state_dict(state["conv1"])
'''


def weights_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    state = {"marker": torch.arange(16, dtype=torch.float32),
             "conv1": torch.nn.Conv2d(3, 4, kernel_size=8, stride=8).state_dict(),
             "padding": torch.randn(WEIGHTS_ZIP_LIMIT // 2)}  # 128 KiB of float32: twice the zip limit
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = tmp_path / "tiny.pt"
    path.write_bytes(buffer.getvalue())
    return path


def weighted_zip(tmp_path: Path, declared: dict[str, str], name: str = "weighted.zip", extra: dict | None = None):
    toml = "[weights]\n" + "".join(f'"{file}" = "{sha256}"\n' for file, sha256 in declared.items())
    files = tutorial_files(root="weighted", **{"models/base_models.py": WEIGHTS_MODEL, "weights.toml": toml},
                           **(extra or {}))
    return write_zip(tmp_path / name, files)
