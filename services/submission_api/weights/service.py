"""Weights files uploaded on their own (issue 13): declared with their sha256 and size, received straight into
the object store, verified, and only then ready for submissions to refer to.

Two ways in, after the platform's object store: on S3/MinIO the client PUTs the bytes to a presigned URL, and
completion copies the object where the client's URL cannot reach and hashes it there; on the filesystem store
the bytes stream through the API in resumable chunks to a part file that is moved into the store only once it
hashes right. Either way nothing is ``ready`` before its bytes hash to the declared sha256.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cortexscore.storage import ObjectNotFound, ObjectStore, S3Store

from submission_api.core.models import Submission, WeightUpload, utcnow

UNFINISHED_SUBMISSION = ("queued", "running")
INCOMING_PREFIX = "weights/incoming/"


@dataclass
class WeightsRefused(Exception):
    """A weights request refused for one named reason; the router answers it as ``{code, message, problems}``."""

    status: int
    code: str
    message: str
    headers: dict = field(default_factory=dict)


def reference_line(upload: WeightUpload) -> str:
    return f'"{upload.name}" = "{upload.sha256}"'


def presigned(store: ObjectStore) -> bool:
    """Whether clients PUT to the object store themselves (S3/MinIO) rather than through the API."""
    return isinstance(store, S3Store)


def final_key(upload: WeightUpload) -> str:
    return f"weights/{upload.owner_id}/{upload.id}"


def incoming_key(upload: WeightUpload) -> str:
    """Where a presigned PUT lands; completion copies it to :func:`final_key`, which no URL can overwrite."""
    return f"{INCOMING_PREFIX}{upload.id}"


def used_bytes(session: Session, owner_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(WeightUpload.size), 0))
                          .where(WeightUpload.owner_id == owner_id)) or 0


def list_uploads(session: Session, owner_id: int) -> list[WeightUpload]:
    return list(session.scalars(select(WeightUpload).where(WeightUpload.owner_id == owner_id)
                                .order_by(WeightUpload.created_at)))


def get_upload(session: Session, upload_id: str) -> WeightUpload | None:
    return session.get(WeightUpload, upload_id)


def declare(session: Session, *, store: ObjectStore, owner_id: int, name: str, sha256: str, size: int,
            quota_bytes: int) -> tuple[WeightUpload, bool]:
    """The owner's upload of the file ``sha256``, and whether it is new.

    Declaring a file again returns its upload: a ready one is reused, a pending one resumed (with a new name if
    one is given). A new file must fit the owner's quota, counting every upload, pending ones included.
    """
    existing = session.scalar(select(WeightUpload).where(WeightUpload.owner_id == owner_id,
                                                         WeightUpload.sha256 == sha256))
    if existing is not None:
        if existing.size != size:
            raise WeightsRefused(422, "size_mismatch", f"you declared sha256 {sha256} before with {existing.size} "
                                                       f"bytes, not {size}; one sha256 is one file: hash the file "
                                                       "again and declare its real size")
        if existing.status == "pending" and existing.name != name:
            existing.name = name
            session.commit()
        return existing, False
    used = used_bytes(session, owner_id)
    if used + size > quota_bytes:
        raise WeightsRefused(413, "over_quota", f"this file of {size} bytes would bring your weights to "
                                                f"{used + size} bytes, over your quota of {quota_bytes} bytes "
                                                f"({used} used); delete weights you no longer need (GET /weights "
                                                "lists them, DELETE /weights/{id} removes one) or ask an admin for "
                                                "a larger quota")
    upload = WeightUpload(id=secrets.token_urlsafe(18), owner_id=owner_id, name=name, sha256=sha256, size=size,
                          method="presigned" if presigned(store) else "streamed", status="pending", received=0,
                          object_key="")
    upload.object_key = final_key(upload)
    session.add(upload)
    session.commit()
    return upload, True


def presigned_url(store: ObjectStore, upload: WeightUpload, expires_seconds: int, public_url: str = ""):
    """The presigned PUT URL of a pending presigned upload, and when it expires."""
    url = store.presigned_put_url(incoming_key(upload), expires_seconds, public_url)
    return url, utcnow() + timedelta(seconds=expires_seconds)


def part_path(tmp_dir: Path, upload: WeightUpload) -> Path:
    return tmp_dir / f"{upload.id}.part"


def received_bytes(tmp_dir: Path, upload: WeightUpload) -> int:
    """Bytes of a pending streamed upload on disk: every byte written is kept, so a cut connection resumes there."""
    if upload.status == "ready":
        return upload.size
    try:
        return part_path(tmp_dir, upload).stat().st_size
    except FileNotFoundError:
        return 0


class PartFile:
    """The part file of a streamed upload, held under an exclusive lock: one writer at a time."""

    def __init__(self, tmp_dir: Path, upload: WeightUpload):
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.path = part_path(tmp_dir, upload)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise WeightsRefused(409, "upload_busy", f"another request is writing upload {upload.id} right now; "
                                                     "wait for it to end, then resume from the offset "
                                                     f"GET /weights/{upload.id} reports") from None
        self.upload = upload

    @property
    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def write(self, chunk: bytes) -> None:
        os.write(self.fd, chunk)  # the fd's offset is the end: see start()

    def start(self, offset: int, total: int) -> None:
        """Check that a chunk starting at ``offset`` of a ``total``-byte file continues this upload."""
        upload, received = self.upload, self.size
        if total != upload.size:
            raise WeightsRefused(422, "size_mismatch", f"Content-Range says the file has {total} bytes, but upload "
                                                       f"{upload.id} declared {upload.size}; declare the upload "
                                                       "again with the file's real size")
        if offset != received:
            raise WeightsRefused(409, "offset_mismatch", f"this chunk starts at byte {offset}, but upload "
                                                         f"{upload.id} has received {received} bytes; resume "
                                                         f"with Content-Range: bytes {received}-.../{upload.size}",
                                 {"Upload-Offset": str(received)})
        os.lseek(self.fd, 0, os.SEEK_END)

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def close(self) -> None:
        os.close(self.fd)


def _sha256_of(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _mismatch(upload: WeightUpload, actual: str, what: str) -> WeightsRefused:
    return WeightsRefused(422, "sha256_mismatch", f"the {upload.size} bytes {what} hash to {actual}, not the "
                                                  f"declared {upload.sha256}; they were discarded. Check that you "
                                                  "upload the file you hashed, then upload it again")


def complete_streamed(session: Session, *, store: ObjectStore, upload: WeightUpload, tmp_dir: Path) -> WeightUpload:
    """Verify a fully received streamed upload and move it into the store; a wrong hash discards the bytes.

    Under the part file's lock, so a client that asks again while a large file is being hashed is told to wait
    (409 upload_busy) rather than hashing it a second time.
    """
    if upload.status == "ready":
        return upload
    part = PartFile(tmp_dir, upload)
    try:
        session.refresh(upload)
        if upload.status == "ready":  # completed by the request that held the lock before us
            return upload
        if part.size != upload.size:
            received = part.size
            raise WeightsRefused(409, "upload_incomplete", f"upload {upload.id} has received {received} of "
                                                           f"{upload.size} bytes; send the rest with PUT "
                                                           f"/weights/{upload.id} and Content-Range: bytes "
                                                           f"{received}-{upload.size - 1}/{upload.size}",
                                 {"Upload-Offset": str(received)})
        with open(part.path, "rb") as handle:
            actual = _sha256_of(iter(lambda: handle.read(1 << 20), b""))
        if actual != upload.sha256:
            part.path.unlink(missing_ok=True)
            raise _mismatch(upload, actual, "received")
        store.move_file(upload.object_key, part.path)
        return _ready(session, upload)
    finally:
        part.close()


def complete_presigned(session: Session, *, store: ObjectStore, upload: WeightUpload) -> WeightUpload:
    """Verify what the client PUT to the presigned URL: its size, then its sha256, hashed as streamed back.

    The object is first copied to its final key, out of reach of the presigned URL, and hashed there: a client
    PUTting again after the check cannot change what was verified.
    """
    if upload.status == "ready":
        return upload
    incoming = incoming_key(upload)
    try:
        info = store.stat(incoming)
    except ObjectNotFound:
        raise WeightsRefused(409, "upload_incomplete", f"nothing was uploaded for {upload.id} yet: PUT the file's "
                                                       "bytes to the upload_url that POST /weights answered, then "
                                                       "complete it") from None
    if info.size != upload.size:
        store.delete(incoming)
        raise WeightsRefused(422, "size_mismatch", f"the object uploaded for {upload.id} has {info.size} bytes, "
                                                   f"not the declared {upload.size}; it was discarded: PUT the "
                                                   "whole file again (declare the upload again for a fresh URL)")
    store.copy(incoming, upload.object_key)
    store.delete(incoming)
    actual = _sha256_of(store.iter_chunks(upload.object_key))
    if actual != upload.sha256:
        store.delete(upload.object_key)
        raise _mismatch(upload, actual, "uploaded")
    return _ready(session, upload)


def _ready(session: Session, upload: WeightUpload) -> WeightUpload:
    upload.status, upload.received, upload.completed_at = "ready", upload.size, utcnow()
    session.commit()
    return upload


def delete_upload(session: Session, *, store: ObjectStore, upload: WeightUpload, tmp_dir: Path) -> None:
    """Remove an upload and its bytes; refused while an unfinished submission of its owner refers to it."""
    unfinished = session.scalars(select(Submission).where(Submission.owner_id == upload.owner_id,
                                                          Submission.status.in_(UNFINISHED_SUBMISSION),
                                                          Submission.weights.is_not(None)))
    for submission in unfinished:
        if any(entry["key"] == upload.object_key for entry in submission.weights or []):
            raise WeightsRefused(409, "weights_in_use", f"submission {submission.id} is still {submission.status} "
                                                        f"and uses {upload.name} ({upload.sha256}); delete the "
                                                        "weights once it has ended, or cancel it first")
    session.delete(upload)
    session.commit()
    for key in (upload.object_key, incoming_key(upload)):
        store.delete(key)
    part_path(tmp_dir, upload).unlink(missing_ok=True)


def resolve_references(session: Session, *, owner_id: int | None, declared: dict[str, str]) -> list[dict]:
    """The weights a submission's ``weights.toml`` names, each a ready upload of the submitter's own.

    Another account's file is answered as unknown: whether someone else uploaded a file is nobody's business.
    """
    if not declared:
        return []
    if owner_id is None:
        raise WeightsRefused(401, "weights_need_account", "this submission's weights.toml refers to uploaded "
                                                          "weights, which belong to an account: submit with "
                                                          "'Authorization: Bearer <token>' of the account that "
                                                          "uploaded them (`cortexscore token create`)",
                             {"WWW-Authenticate": "Bearer"})
    rows = {row.sha256: row for row in session.scalars(
        select(WeightUpload).where(WeightUpload.owner_id == owner_id,
                                   WeightUpload.sha256.in_(sorted(set(declared.values())))))}
    resolved = []
    for name, sha256 in declared.items():
        row = rows.get(sha256)
        if row is None:
            raise WeightsRefused(422, "unknown_weights", f"weights.toml names {name!r} with sha256 {sha256}, "
                                                         "which is not among your weight uploads: upload it with "
                                                         f"`cortexscore upload-weights {name}` as the account you "
                                                         "submit with")
        if row.status != "ready":
            raise WeightsRefused(422, "weights_not_ready", f"weights.toml names {name!r} with sha256 {sha256}, "
                                                           "whose upload is not finished and verified yet: run "
                                                           f"`cortexscore upload-weights {name}` again, it resumes")
        resolved.append({"name": name, "sha256": sha256, "size": row.size, "key": row.object_key})
    return resolved


def remove_abandoned_uploads(session: Session, *, store: ObjectStore, tmp_dir: Path, older_than_seconds: float) -> int:
    """Delete pending uploads nobody finished within ``older_than_seconds``, with their bytes, and part files whose
    upload row is gone (a crash between the two); they would hold their owners' quota forever."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    stale = list(session.scalars(select(WeightUpload).where(WeightUpload.status == "pending",
                                                            WeightUpload.created_at < cutoff)))
    for upload in stale:
        session.delete(upload)
    session.commit()
    for upload in stale:
        store.delete(incoming_key(upload))
        part_path(tmp_dir, upload).unlink(missing_ok=True)
    known = set(session.scalars(select(WeightUpload.id)))
    orphans = [path for path in tmp_dir.glob("*.part") if path.stem not in known] if tmp_dir.is_dir() else []
    for path in orphans:
        path.unlink(missing_ok=True)
    return len(stale) + len(orphans)
