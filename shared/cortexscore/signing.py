"""HMAC authentication of the files a scorer keeps: cached activations, layer commitments, model facts.

A scorer's cache outlives its jobs, so anything that could have written there must not be able to pass
an entry off as the platform's. Each file gets a ``<name>.mac`` beside it: an HMAC-SHA256, under a key
only the scorer process holds, of the file's purpose (its cache key) and its bytes. A file whose tag is
missing or wrong is treated as absent, and the work that made it is done again.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

MAC_SUFFIX = ".mac"
KEY_BYTES = 32


def load_or_create_key(path: str | os.PathLike) -> bytes:
    """The key in ``path`` (mode 0600), made at first use; concurrent first uses agree on one key.

    Examples
    --------
    >>> import tempfile
    >>> key_path = Path(tempfile.mkdtemp()) / "cache.key"
    >>> key = load_or_create_key(key_path)
    >>> len(key), load_or_create_key(key_path) == key, oct(key_path.stat().st_mode & 0o777)
    (32, True, '0o600')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(f"{path} must hold a {KEY_BYTES}-byte key; delete it to make a new one "
                             "(every cached entry is then recomputed)") from None
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(handle, "wb") as file:
        file.write(key)
    return key


class FileSigner:
    """Tags files with an HMAC under ``key`` and checks them; ``purpose`` binds a tag to one use of the file.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "entry.json"
    >>> _ = path.write_text("{}")
    >>> signer = FileSigner(b"k" * 32)
    >>> signer.sign(path, "entry-a")
    >>> signer.verify(path, "entry-a"), signer.verify(path, "entry-b")
    (True, False)
    >>> _ = path.write_text('{"forged": 1}')
    >>> signer.verify(path, "entry-a")
    False
    """

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError(f"an HMAC key needs at least 16 bytes; got {len(key)}")
        self._key = key

    def tag(self, path: str | os.PathLike, purpose: str) -> str:
        mac = hmac.new(self._key, purpose.encode() + b"\0", hashlib.sha256)
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                mac.update(chunk)
        return mac.hexdigest()

    @staticmethod
    def mac_path(path: str | os.PathLike) -> Path:
        path = Path(path)
        return path.with_name(path.name + MAC_SUFFIX)

    def sign(self, path: str | os.PathLike, purpose: str) -> None:
        """Write the tag of ``path`` beside it, atomically."""
        partial = self.mac_path(path).with_name(f".{Path(path).name}.{secrets.token_hex(6)}.mac-partial")
        partial.write_text(self.tag(path, purpose))
        os.replace(partial, self.mac_path(path))

    def verify(self, path: str | os.PathLike, purpose: str) -> bool:
        """Whether ``path`` has a tag and it matches; a missing file or tag is False."""
        try:
            expected = self.mac_path(path).read_text()
            return hmac.compare_digest(expected, self.tag(path, purpose))
        except (OSError, UnicodeDecodeError):
            return False
