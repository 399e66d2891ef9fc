"""Issue 13, on the user's side: `cortexscore check` holds weights.toml against the local weights files, and
`weights_path` finds them where $CORTEXSCORE_WEIGHTS_DIR says."""
from __future__ import annotations

import hashlib

import pytest

from cortexscore.models.check import check_submission
from cortexscore.weights import WEIGHTS_DIR_VARIABLE, weights_path
from tests.zips import tiny_model_source, tutorial_files


def submission_folder(tmp_path, declaration: str):
    for name, content in tutorial_files(root="weighted", **{"models/base_models.py": tiny_model_source("weighted"),
                                                             "weights.toml": declaration}).items():
        path = tmp_path / "folder" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return tmp_path / "folder" / "weighted"


def test_check_names_a_missing_or_different_local_weights_file(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(weights))
    declared = hashlib.sha256(b"the uploaded file").hexdigest()
    folder = submission_folder(tmp_path, f'[weights]\n"w.pt" = "{declared}"\n')
    [missing] = check_submission(folder)
    assert "'w.pt', which is not in" in missing and WEIGHTS_DIR_VARIABLE in missing
    (weights / "w.pt").write_bytes(b"another file")
    [different] = check_submission(folder)
    assert hashlib.sha256(b"another file").hexdigest() in different and "cortexscore upload-weights" in different
    assert weights_path("w.pt") == weights / "w.pt"


def test_check_refuses_a_malformed_weights_toml(tmp_path):
    [problem] = check_submission(submission_folder(tmp_path, '[weights]\n"w.pt" = "not a sha256"\n'))
    assert "must be 64 lowercase hex digits" in problem


def test_weights_path_says_how_to_declare_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="declare it in weights.toml"):
        weights_path("missing.pt")
