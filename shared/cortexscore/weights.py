"""Weights bigger than an upload (issue 13): how a submission names them, and how its model finds them.

A weights file is uploaded once on its own (``cortexscore upload-weights FILE``) and a submission refers to
it by its sha256, in ``weights.toml`` inside its root folder, beside ``models/``::

    [weights]
    "resnet50.pt" = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

The scorer fetches each file, checks its sha256, and shows it to the model read-only as
``$CORTEXSCORE_WEIGHTS_DIR/<name>`` (``/weights/<name>`` in the sandbox); model code calls
:func:`weights_path`. Run locally, point ``CORTEXSCORE_WEIGHTS_DIR`` at a folder holding the same files.
"""
from __future__ import annotations

import os
import re
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

DECLARATION_FILE = "weights.toml"
WEIGHTS_DIR_VARIABLE = "CORTEXSCORE_WEIGHTS_DIR"
SANDBOX_WEIGHTS_DIR = "/weights"
MAX_DECLARED = 32
MAX_DECLARATION_BYTES = 64 << 10
# A plain file name: it becomes one path component under /weights.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class InvalidWeightsDeclaration(ValueError):
    """``weights.toml`` does not parse, or names a file or a sha256 that cannot be right."""


def parse_declaration(text: str, where: str = DECLARATION_FILE) -> dict[str, str]:
    """The ``{file name: sha256}`` a ``weights.toml`` declares.

    >>> parse_declaration('[weights]\\n"w.pt" = "' + "a" * 64 + '"')
    {'w.pt': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}
    >>> try:
    ...     parse_declaration('[weights]\\n"../x" = "abc"')
    ... except InvalidWeightsDeclaration as error:
    ...     print(error)
    weights.toml: '../x' is not a plain file name; use letters, digits, '.', '_' and '-' (at most 128 characters, not starting with '.')
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidWeightsDeclaration(f"{where} is not valid TOML ({error}); write it as [weights] followed by "
                                        '"file name" = "sha256" lines') from None
    unknown = sorted(set(document) - {"weights"})
    if unknown:
        raise InvalidWeightsDeclaration(f"{where} has unknown top-level entries {unknown}; it holds only a "
                                        "[weights] table")
    table = document.get("weights", {})
    if not isinstance(table, dict):
        raise InvalidWeightsDeclaration(f"{where}: 'weights' must be a table of \"file name\" = \"sha256\"")
    if len(table) > MAX_DECLARED:
        raise InvalidWeightsDeclaration(f"{where} declares {len(table)} files, more than the limit of "
                                        f"{MAX_DECLARED}; pack small files together")
    declared = {}
    for name, sha256 in table.items():
        if not NAME_PATTERN.match(name):
            raise InvalidWeightsDeclaration(f"{where}: {name!r} is not a plain file name; use letters, digits, "
                                            "'.', '_' and '-' (at most 128 characters, not starting with '.')")
        if not isinstance(sha256, str) or not SHA256_PATTERN.match(sha256):
            raise InvalidWeightsDeclaration(f"{where}: the sha256 of {name!r} must be 64 lowercase hex digits, as "
                                            "`cortexscore upload-weights` prints it")
        declared[name] = sha256
    return declared


def declared_weights(zip_path: Path, root: str) -> dict[str, str]:
    """What ``<root>/weights.toml`` in the submission zip declares; nothing when the zip has none."""
    name = str(PurePosixPath(root) / DECLARATION_FILE)
    with zipfile.ZipFile(zip_path) as archive:
        try:
            info = archive.getinfo(name)
        except KeyError:
            return {}
        if info.file_size > MAX_DECLARATION_BYTES:
            raise InvalidWeightsDeclaration(f"{name} is {info.file_size} bytes, more than the limit of "
                                            f"{MAX_DECLARATION_BYTES}")
        text = archive.read(info).decode("utf-8", "replace")
    return parse_declaration(text, name)


def local_problems(declared: dict[str, str]) -> list[str]:
    """What is wrong with the local copies of declared weights, for ``cortexscore check``: each must be in
    :func:`weights_dir` and hash to its declared sha256."""
    from cortexscore.storage import sha256_file

    problems = []
    for name, sha256 in declared.items():
        path = weights_dir() / name
        if not path.is_file():
            problems.append(f"weights.toml names {name!r}, which is not in {weights_dir()}: set "
                            f"{WEIGHTS_DIR_VARIABLE} to the folder that holds your weights files to check the model")
        elif (actual := sha256_file(path)) != sha256:
            problems.append(f"{path} hashes to {actual}, not the sha256 weights.toml declares for {name!r} "
                            f"({sha256}); upload this file with `cortexscore upload-weights {path}` and declare "
                            "the sha256 it prints")
    return problems


def weights_dir() -> Path:
    """Where the scorer puts the submission's weights files: ``$CORTEXSCORE_WEIGHTS_DIR``, else ``/weights``."""
    return Path(os.environ.get(WEIGHTS_DIR_VARIABLE) or SANDBOX_WEIGHTS_DIR)


def weights_path(name: str) -> Path:
    """The path of the weights file ``name`` that the submission's ``weights.toml`` declares; a file that is not
    there raises FileNotFoundError saying how to declare it (tests/cortexscore/test_weights.py)."""
    path = weights_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no weights file {name!r} in {weights_dir()}: declare it in weights.toml beside "
                                f"models/ with the sha256 `cortexscore upload-weights {name}` printed (run locally, "
                                f"set {WEIGHTS_DIR_VARIABLE} to a folder holding it)")
    return path
