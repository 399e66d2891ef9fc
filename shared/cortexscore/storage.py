"""Object storage: one interface, a filesystem backend and an S3/MinIO backend.

Objects are written whole or not at all: the filesystem backend renames a
finished temporary file into place, and S3 only exposes an object once its
upload completed. Readers stream; nothing here loads an object into memory.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

CHUNK_BYTES = 1 << 20
UPLOAD_PART_BYTES = 8 << 20
MAX_SINGLE_COPY_BYTES = 5 << 30


class StorageError(RuntimeError):
    """The object store could not be reached or refused the operation (retryable)."""


class ObjectNotFound(KeyError):
    """No object is stored under the key."""


class ChecksumMismatch(ValueError):
    """An object's bytes do not hash to the sha256 the catalogue recorded."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(Protocol):
    def put_file(self, key: str, path: Path) -> ObjectInfo: ...
    def move_file(self, key: str, path: Path) -> ObjectInfo: ...
    def copy(self, source_key: str, key: str) -> ObjectInfo: ...
    def get_file(self, key: str, path: Path) -> ObjectInfo: ...
    def iter_chunks(self, key: str) -> Iterator[bytes]: ...
    def stat(self, key: str) -> ObjectInfo: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def modified(self, key: str) -> float: ...


def sha256_file(path: Path) -> str:
    """Hash a file in chunks, so its size never matters.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid object key {key!r}: use relative 'a/b/c' keys without '..'")
    return key


class FilesystemStore:
    """Objects as files below ``root``; the embedded default."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=self._tmp)
        os.close(fd)
        try:
            shutil.copyfile(path, staging)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        return ObjectInfo(key, target.stat().st_size)

    def move_file(self, key: str, path: Path) -> ObjectInfo:
        """Store ``path`` under ``key`` and remove it: a rename where both lie on one filesystem, else a copy."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            self.put_file(key, path)
            Path(path).unlink()
        return ObjectInfo(key, target.stat().st_size)

    def copy(self, source_key: str, key: str) -> ObjectInfo:
        return self.put_file(key, self._path(source_key))

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        source = self._path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        shutil.copyfile(source, path)
        return ObjectInfo(key, source.stat().st_size)

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        source = self._path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        with open(source, "rb") as handle:
            yield from iter(lambda: handle.read(CHUNK_BYTES), b"")

    def stat(self, key: str) -> ObjectInfo:
        source = self._path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        return ObjectInfo(key, source.stat().st_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def modified(self, key: str) -> float:
        """When the object was written, as a Unix timestamp."""
        source = self._path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        return source.stat().st_mtime

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> list[str]:
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and not relative.startswith(".tmp/") and relative.startswith(prefix):
                found.append(relative)
        return sorted(found)


class S3Store:
    """Objects in one S3/MinIO bucket, through the ``minio`` client."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 region: str = "us-east-1"):
        from minio import Minio
        from urllib3 import PoolManager, Retry, Timeout

        self.bucket = bucket
        self.endpoint = endpoint
        # Kept to sign presigned URLs for the public endpoint (presigned_put_url).
        self._access_key, self._secret_key, self._region = access_key, secret_key, region
        # Short timeouts and few retries: a dead server must surface as a
        # retryable StorageError quickly, not hang a request or a job.
        http = PoolManager(timeout=Timeout(connect=3, read=30), retries=Retry(total=2, backoff_factor=0.2),
                           maxsize=4)
        # A fixed region: without one the client first asks for the bucket's location, and servers
        # other than AWS/MinIO (rclone, Ceph) answer that differently, which broke every later request.
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http,
                            region=region)
        self._call(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def _call(self, function, *args, **kwargs):
        from minio.error import InvalidResponseError, MinioException, S3Error
        from urllib3.exceptions import HTTPError

        # args are (bucket, key, ...): a missing object is named by its key.
        missing = ObjectNotFound(args[1] if len(args) > 1 else "")
        try:
            return function(*args, **kwargs)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                raise missing from error
            raise StorageError(f"S3 at {self.endpoint} refused the request: {error.code}") from error
        except InvalidResponseError as error:
            # Some servers (rclone) send error XML without a <Message>, which minio cannot parse.
            if error._code == 404 and "<Code>NoSuchKey</Code>" in (error._body or ""):
                raise missing from error
            raise self._unreachable(error) from error
        except (MinioException, HTTPError, ConnectionError, TimeoutError) as error:
            # Connection failures, timeouts and 5xx answers; bad arguments (ValueError) and
            # local file errors are not the server's fault and propagate as they are.
            raise self._unreachable(error) from error

    def _unreachable(self, error: Exception) -> StorageError:
        return StorageError(f"S3 at {self.endpoint} is unreachable ({type(error).__name__}); retry once it is back")

    def put_file(self, key: str, path: Path) -> ObjectInfo:
        # One bounded part at a time: memory stays at a few part sizes, whatever the object's size.
        self._call(self.client.fput_object, self.bucket, _check_key(key), str(path), part_size=UPLOAD_PART_BYTES,
                   num_parallel_uploads=1)
        return self.stat(key)

    def move_file(self, key: str, path: Path) -> ObjectInfo:
        info = self.put_file(key, path)
        Path(path).unlink()
        return info

    def copy(self, source_key: str, key: str) -> ObjectInfo:
        """A server-side copy: the bytes never pass through this process."""
        from minio.commonconfig import ComposeSource, CopySource

        size = self.stat(source_key).size
        if size > MAX_SINGLE_COPY_BYTES:  # one CopyObject stops at 5 GiB; compose copies in parts
            self._call(self.client.compose_object, self.bucket, _check_key(key),
                       [ComposeSource(self.bucket, _check_key(source_key))])
        else:
            self._call(self.client.copy_object, self.bucket, _check_key(key),
                       CopySource(self.bucket, _check_key(source_key)))
        return self.stat(key)

    def presigned_put_url(self, key: str, expires_seconds: int, public_url: str = "") -> str:
        """A URL that lets whoever holds it PUT one object at ``key``, without credentials, until it expires.

        ``public_url`` (``https://objects.example.org``) is where clients reach the store when that is not the
        endpoint this process uses (``minio:9000`` inside a cluster): the signature covers the host, so the URL
        is signed for that one. Signing is local; nothing is sent.
        """
        from datetime import timedelta

        from minio import Minio

        client = self.client
        if public_url:
            scheme, _, host = public_url.rstrip("/").partition("://")
            client = Minio(host, access_key=self._access_key, secret_key=self._secret_key,
                           secure=scheme == "https", region=self._region)
        return self._call(client.presigned_put_object, self.bucket, _check_key(key),
                          expires=timedelta(seconds=expires_seconds))

    def get_file(self, key: str, path: Path) -> ObjectInfo:
        self._call(self.client.fget_object, self.bucket, _check_key(key), str(path))
        return ObjectInfo(key, Path(path).stat().st_size)

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        from urllib3.exceptions import HTTPError

        response = self._call(self.client.get_object, self.bucket, _check_key(key))
        try:
            yield from response.stream(CHUNK_BYTES)
        except (HTTPError, ConnectionError, TimeoutError) as error:  # the server went away mid-stream
            raise self._unreachable(error) from error
        finally:
            response.close()
            response.release_conn()

    def stat(self, key: str) -> ObjectInfo:
        info = self._call(self.client.stat_object, self.bucket, _check_key(key))
        return ObjectInfo(key, info.size)

    def modified(self, key: str) -> float:
        info = self._call(self.client.stat_object, self.bucket, _check_key(key))
        return info.last_modified.timestamp()

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call(self.client.remove_object, self.bucket, _check_key(key))

    def keys(self, prefix: str = "") -> list[str]:
        objects = self._call(lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)))
        return sorted(obj.object_name for obj in objects)


def open_store(url: str, *, access_key: str = "", secret_key: str = "") -> ObjectStore:
    """Open a store from a URL: a filesystem path / ``file://`` URL, or ``s3://host:port/bucket``.

    >>> import tempfile
    >>> type(open_store(tempfile.mkdtemp())).__name__
    'FilesystemStore'
    """
    if url.startswith(("s3://", "s3+https://")):
        secure = url.startswith("s3+https://")
        endpoint, _, bucket = url.split("://", 1)[1].partition("/")
        if not bucket:
            raise ValueError(f"S3 store URL {url!r} names no bucket: use s3://host:port/bucket")
        return S3Store(endpoint, access_key, secret_key, bucket.strip("/"), secure=secure)
    return FilesystemStore(url.removeprefix("file://"))


def fetch_verified(store: ObjectStore, key: str, sha256: str, path: Path, attempts: int = 2) -> Path:
    """``path`` holding the object at ``key``, whose bytes must hash to ``sha256``.

    A file already at ``path`` is kept when it verifies; otherwise (missing,
    or corrupted on disk) the object is streamed from the store, hashing
    chunk by chunk, into a staging file that replaces ``path`` only once it
    verifies. A corrupt download is fetched again, up to ``attempts`` times,
    before ChecksumMismatch is raised.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "x").write_bytes(b"abc")
    >>> store = FilesystemStore(root / "store")
    >>> _ = store.put_file("a/x", root / "x")
    >>> fetch_verified(store, "a/x", sha256_file(root / "x"), root / "copy").read_bytes()
    b'abc'
    """
    path = Path(path)
    if path.is_file() and sha256_file(path) == sha256:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    actual = ""
    for _ in range(attempts):
        fd, staging = tempfile.mkstemp(dir=path.parent, suffix=".part")
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in store.iter_chunks(key):
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if actual == sha256:
                os.replace(staging, path)
                return path
        finally:
            Path(staging).unlink(missing_ok=True)
    raise ChecksumMismatch(f"object {key!r} hashed to {actual} on {attempts} downloads, not the recorded {sha256}; "
                           "the stored object is corrupt: ingest it again")
