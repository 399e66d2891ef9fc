"""Receives a multipart upload as a stream: the file goes to disk chunk by chunk, hashed on the way,
and the upload is cut off as soon as it passes the size limit."""
from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT_BYTES = 64 << 10
# A part's headers (name and value together); real clients send a few hundred bytes.
HEADER_LIMIT_BYTES = 16 << 10
# Errors that mean the disk (or the file-size limit) is full: the upload is answered 507, not 500.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
UPLOAD_SUFFIX = ".upload"
FILE_FIELD = "file"
TEXT_FIELDS = ("benchmarks", "public", "callback_url")


@dataclass
class ReceivedUpload:
    path: Path
    filename: str = ""
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    # Held, with an exclusive flock, for as long as the temporary file is in use: a lock nobody holds marks a
    # leftover of a killed process (remove_upload_leftovers).
    lock_fd: int | None = None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def in_use(path: Path) -> bool:
    """True if a live process holds the lock of this temporary upload file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def rejection(status: int, code: str, message: str, headers: dict | None = None) -> HTTPException:
    """An upload refused for one reason, in the contract's ``{code, message, problems}`` shape."""
    return HTTPException(status, {"code": code, "message": message, "problems": [{"code": code, "message": message}]},
                         headers=headers)


def disk_full(error: OSError) -> HTTPException:
    return rejection(507, "insufficient_storage", f"the platform is out of storage space ({os.strerror(error.errno)}); "
                                                  "nothing was kept, try again later", headers={"Retry-After": "60"})


class _FormReceiver:
    """python-multipart callbacks that route the file part to disk and text parts to memory."""

    def __init__(self, target: Path, max_bytes: int):
        self.max_bytes = max_bytes
        self.upload = ReceivedUpload(path=target)
        self._digest = hashlib.sha256()
        self._file = open(target, "wb")
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._text = bytearray()
        self.file_parts = 0

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_part_data": self._part_data, "on_part_end": self._part_end,
            "on_header_field": self._header_field_data, "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
        }

    def _part_begin(self) -> None:
        self._name, self._text = None, bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        self._check_header()

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header()

    def _check_header(self) -> None:
        if len(self._header_field) + len(self._header_value) > HEADER_LIMIT_BYTES:
            raise rejection(400, "header_too_large", f"a multipart part header is longer than {HEADER_LIMIT_BYTES} "
                                                     "bytes; send the zip with -F file=@model.zip")

    def _header_end(self) -> None:
        header, value = self._header_field.lower(), self._header_value
        self._header_field, self._header_value = b"", b""
        if header == b"content-disposition":
            _, options = parse_options_header(value)
            self._name = options.get(b"name", b"").decode("utf-8", "replace")
            if self._name == FILE_FIELD:
                self.file_parts += 1
                if self.file_parts > 1:
                    raise rejection(422, "several_files", "send exactly one file in the 'file' field")
                self.upload.filename = options.get(b"filename", b"").decode("utf-8", "replace")
            elif self._name not in TEXT_FIELDS:
                raise rejection(422, "unknown_field", f"unknown form field {self._name!r}; the fields are "
                                                   f"'file', {', '.join(repr(f) for f in TEXT_FIELDS)}")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._name == FILE_FIELD:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                raise rejection(413, "too_large", f"the upload is larger than the limit of {self.max_bytes} bytes; "
                                               "leave weights and data out of the zip or load them at run time")
            self._digest.update(chunk)
            self._file.write(chunk)
        else:
            self._text.extend(chunk)
            if len(self._text) > FIELD_LIMIT_BYTES:
                raise rejection(422, "field_too_large", f"the form field {self._name!r} is too long")

    def _part_end(self) -> None:
        if self._name in TEXT_FIELDS:
            self.upload.fields[self._name] = self._text.decode("utf-8", "replace")

    def close(self) -> ReceivedUpload:
        self._file.close()
        self.upload.sha256 = self._digest.hexdigest()
        return self.upload


async def body_chunks(request: Request, idle_seconds: float):
    """The request body's chunks; a client that sends nothing for ``idle_seconds`` is cut off with a 408."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_seconds)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise rejection(408, "upload_idle", f"the upload sent nothing for {idle_seconds:g} s and was dropped; "
                                                "check your connection and upload again",
                            headers={"Connection": "close"}) from None
        yield chunk


async def receive_upload(request: Request, tmp_dir: Path, max_bytes: int,
                         idle_seconds: float = 30.0) -> ReceivedUpload:
    """Stream the request body to a temporary file under ``tmp_dir``; the caller owns the result.

    A body that does not parse as multipart is a 400, a full disk a 507, a stalled client a 408; in every case
    the temporary file is gone before the answer.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise rejection(415, "unsupported_media_type", "send the zip as multipart/form-data in the field 'file', "
                                                    "for example: curl -F file=@model.zip .../submissions")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FIELD_LIMIT_BYTES:
        raise rejection(413, "too_large", f"the upload declares {declared} bytes, more than the limit of {max_bytes}")
    try:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=UPLOAD_SUFFIX)
    except OSError as error:
        if error.errno in DISK_FULL:
            raise disk_full(error) from None
        raise
    fcntl.flock(fd, fcntl.LOCK_EX)
    receiver = _FormReceiver(Path(name), max_bytes)
    receiver.upload.lock_fd = fd
    try:
        try:
            parser = MultipartParser(options[b"boundary"], receiver.callbacks())
            async for chunk in body_chunks(request, idle_seconds):
                parser.write(chunk)
            parser.finalize()
            upload = receiver.close()
        except FormParserError as error:
            if "header size" in str(error):
                raise rejection(400, "header_too_large", f"a multipart part header is too long ({error}); send "
                                                         "the zip with -F file=@model.zip") from None
            raise rejection(400, "malformed_multipart", f"the body is not valid multipart/form-data for its "
                                                        f"boundary: {error}") from None
        except OSError as error:
            if error.errno in DISK_FULL:
                raise disk_full(error) from None
            raise
    except BaseException:
        try:
            receiver.close()
        except OSError:
            pass
        receiver.upload.discard()
        raise
    if receiver.file_parts == 0:
        upload.discard()
        raise rejection(422, "missing_file", "no 'file' field in the form; upload with -F file=@model.zip")
    return upload
