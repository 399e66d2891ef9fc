"""A corpus of hostile uploads: each builder writes one attack to ``path`` and names what must be refused."""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from tests.zips import tutorial_files, write_zip

MARKER = Path("/tmp/cortexscore-setup-py-was-executed")


def zip_bomb(path: Path) -> None:
    files = tutorial_files()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        # 1 GiB of zeros deflates to about 1 MB: a ratio near 1000.
        with archive.open("my_submission/weights.bin", "w", force_zip64=True) as entry:
            block = bytes(1 << 20)
            for _ in range(1024):
                entry.write(block)


def path_traversal(path: Path) -> None:
    write_zip(path, {**tutorial_files(), "my_submission/../../etc/cron.d/evil": "* * * * * root rm -rf /"})


def absolute_path(path: Path) -> None:
    files = tutorial_files()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        info = zipfile.ZipInfo("my_submission/x")
        archive.writestr(info, "x")
    # zipfile refuses to write absolute names, so patch the bytes of a same-length name in place.
    data = path.read_bytes().replace(b"my_submission/x", b"/etc/passwd_xyz")
    path.write_bytes(data)


def symlink(path: Path) -> None:
    write_zip(path, tutorial_files())
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("my_submission/models/secrets")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/shadow")


def too_many_files(path: Path) -> None:
    write_zip(path, {**tutorial_files(), **{f"my_submission/data/{i}.txt": "" for i in range(2100)}})


def nested_archive(path: Path) -> None:
    write_zip(path, {**tutorial_files(), "my_submission/models/inner.zip": b"PK\x05\x06" + bytes(18)})


def encrypted_entry(path: Path) -> None:
    write_zip(path, tutorial_files())
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag bit in every local and central directory header.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            flags = struct.unpack_from("<H", data, start + offset)[0]
            struct.pack_into("<H", data, start + offset, flags | 0x1)
            start += 4
    path.write_bytes(bytes(data))


def non_utf8_name(path: Path) -> None:
    write_zip(path, tutorial_files())
    data = path.read_bytes().replace(b"my_submission/setup.py", b"my_submission/s\xe9tup.py")
    path.write_bytes(data)


def truncated(path: Path) -> None:
    write_zip(path, tutorial_files())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])


def executable_setup_py(path: Path) -> None:
    setup = (f"import pathlib\npathlib.Path({str(MARKER)!r}).write_text('pwned')\n"
             "from setuptools import setup\nsetup(name='evil')\n")
    write_zip(path, tutorial_files(**{"setup.py": setup}))


# name -> (builder, expected status codes, a word the error must contain)
CORPUS = {
    "zip_bomb": (zip_bomb, {413, 422}, "zip_bomb"),
    "path_traversal": (path_traversal, {422}, "unsafe_path"),
    "absolute_path": (absolute_path, {422}, "unsafe_path"),
    "symlink": (symlink, {422}, "symlink"),
    "too_many_files": (too_many_files, {422}, "too_many_files"),
    "nested_archive": (nested_archive, {422}, "nested_archive"),
    "encrypted_entry": (encrypted_entry, {422}, "encrypted"),
    "non_utf8_name": (non_utf8_name, {422}, "non_utf8_name"),
    "truncated": (truncated, {415, 422}, "zip"),
}
