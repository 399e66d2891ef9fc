"""Receives a multipart upload as a stream: the file goes to disk chunk by chunk, hashed on the way,
and the upload is cut off as soon as it passes the size limit."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT_BYTES = 64 << 10
FILE_FIELD = "file"
TEXT_FIELDS = ("benchmarks", "public", "callback_url")


@dataclass
class ReceivedUpload:
    path: Path
    filename: str = ""
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def rejection(status: int, code: str, message: str) -> HTTPException:
    """An upload refused for one reason, in the contract's ``{code, message, problems}`` shape."""
    return HTTPException(status, {"code": code, "message": message, "problems": [{"code": code, "message": message}]})


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

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

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


async def receive_upload(request: Request, tmp_dir: Path, max_bytes: int) -> ReceivedUpload:
    """Stream the request body to a temporary file under ``tmp_dir``; the caller owns the result."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise rejection(415, "unsupported_media_type", "send the zip as multipart/form-data in the field 'file', "
                                                    "for example: curl -F file=@model.zip .../submissions")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FIELD_LIMIT_BYTES:
        raise rejection(413, "too_large", f"the upload declares {declared} bytes, more than the limit of {max_bytes}")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".upload")
    os.close(fd)
    receiver = _FormReceiver(Path(name), max_bytes)
    try:
        parser = MultipartParser(options[b"boundary"], receiver.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        upload = receiver.close()
    except BaseException:
        receiver.close()
        Path(name).unlink(missing_ok=True)
        raise
    if receiver.file_parts == 0:
        upload.discard()
        raise rejection(422, "missing_file", "no 'file' field in the form; upload with -F file=@model.zip")
    return upload
