"""Weights files bigger than a submission upload (issue 13): declare, send (presigned or streamed), complete,
list, delete. Who may do what is decided by the dependencies (weights/dependencies.py)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from submission_api.core.dependencies import SessionDep, SettingsDep, StoreDep
from submission_api.core.models import WeightUpload
from submission_api.submissions.upload import DISK_FULL, body_chunks, disk_full, rejection
from submission_api.weights import service
from submission_api.weights.dependencies import (ChunkRange, OwnedUpload, WeightsTmpDir, WeightsUploader,
                                                 answered_as_rejections)
from submission_api.weights.schemas import WeightUploadCreate, WeightUploadPublic, WeightUploadsPublic

router = APIRouter(prefix="/weights", tags=["weights"])


def _public(request: Request, upload: WeightUpload, store, settings, tmp_dir, *, with_url: bool = False):
    url = expires = None
    if upload.status == "pending" and with_url:
        if upload.method == "presigned":
            url, expires = service.presigned_url(store, upload, settings.weights_presign_seconds,
                                                 settings.s3_public_url)
        else:
            url = str(request.url_for("send_weights_chunk", upload_id=upload.id))
    received = service.received_bytes(tmp_dir, upload) if upload.method == "streamed" else upload.received
    return WeightUploadPublic(id=upload.id, name=upload.name, sha256=upload.sha256, size=upload.size,
                              method=upload.method, status=upload.status, received=received,
                              created_at=upload.created_at, completed_at=upload.completed_at, upload_url=url,
                              upload_expires_at=expires, reference=service.reference_line(upload))


@router.post("", status_code=201, response_model=WeightUploadPublic,
             responses={200: {"description": "this file was declared before: its upload, to resume or reuse"},
                        401: {"description": "no token: weight uploads need an account (`account_required`)"},
                        413: {"description": "the file would exceed your storage quota (`over_quota`)"},
                        422: {"description": "a malformed name, sha256 or size (`size_mismatch`)"}})
def declare_weights(body: WeightUploadCreate, request: Request, response: Response, owner: WeightsUploader,
                    session: SessionDep, store: StoreDep, settings: SettingsDep,
                    tmp_dir: WeightsTmpDir) -> WeightUploadPublic:
    """Start an upload of a weights file, declared by its name, sha256 and size; answers where to PUT its bytes."""
    with answered_as_rejections():
        upload, new = service.declare(session, store=store, owner_id=owner.id, name=body.name, sha256=body.sha256,
                                      size=body.size, quota_bytes=settings.weights_quota_bytes)
    if not new:
        response.status_code = 200
    return _public(request, upload, store, settings, tmp_dir, with_url=True)


@router.get("", response_model=WeightUploadsPublic,
            responses={401: {"description": "no token: weight uploads need an account (`account_required`)"}})
def list_weights(request: Request, owner: WeightsUploader, session: SessionDep, store: StoreDep,
                 settings: SettingsDep, tmp_dir: WeightsTmpDir) -> WeightUploadsPublic:
    """Your weight uploads, ready or pending, with the bytes they hold against your storage quota."""
    uploads = service.list_uploads(session, owner.id)
    return WeightUploadsPublic(used_bytes=sum(upload.size for upload in uploads),
                               quota_bytes=settings.weights_quota_bytes,
                               uploads=[_public(request, upload, store, settings, tmp_dir) for upload in uploads])


@router.head("/{upload_id}", include_in_schema=False)  # as GET: clients ask for Upload-Offset alone
@router.get("/{upload_id}", response_model=WeightUploadPublic,
            responses={404: {"description": "no such upload of yours (`unknown_upload`)"}})
def read_weights(upload: OwnedUpload, request: Request, response: Response, store: StoreDep, settings: SettingsDep,
                 tmp_dir: WeightsTmpDir) -> WeightUploadPublic:
    """An upload's state; ``Upload-Offset`` (also on HEAD) says where a streamed upload resumes."""
    public = _public(request, upload, store, settings, tmp_dir, with_url=True)
    response.headers["Upload-Offset"] = str(public.received)
    return public


@router.put("/{upload_id}", name="send_weights_chunk", response_model=WeightUploadPublic,
            responses={400: {"description": "a malformed Content-Range, or the chunk was cut off (see Upload-Offset)"},
                       404: {"description": "no such upload of yours (`unknown_upload`)"},
                       409: {"description": "the chunk does not start at Upload-Offset (`offset_mismatch`), the "
                                            "upload is presigned, complete, or busy"},
                       422: {"description": "more bytes than declared (`size_mismatch`), or the whole file does "
                                            "not hash to the declared sha256 (`sha256_mismatch`, bytes discarded)"}})
async def send_chunk(upload: OwnedUpload, chunk: ChunkRange, request: Request, response: Response,
                     session: SessionDep, store: StoreDep, settings: SettingsDep,
                     tmp_dir: WeightsTmpDir) -> WeightUploadPublic:
    """Append one chunk of a streamed upload (the filesystem store); the last one verifies and stores the file.

    Every byte that arrives is kept, so a chunk cut short resumes where it stopped: ask GET/HEAD for the offset.
    """
    if upload.method != "streamed":
        raise rejection(409, "presigned_upload", f"upload {upload.id} goes straight to the object store: PUT the "
                                                 "bytes to its upload_url (POST /weights answers it), then POST "
                                                 f"/weights/{upload.id}/complete")
    if upload.status == "ready":
        raise rejection(409, "upload_ready", f"upload {upload.id} is complete and verified; nothing more to send")
    start, end, total = chunk
    with answered_as_rejections():
        part = await run_in_threadpool(service.PartFile, tmp_dir, upload)
        written = 0
        try:
            part.start(start, total)
            async for data in body_chunks(request, settings.upload_idle_timeout_seconds):
                written += len(data)
                if start + written > min(end, upload.size):
                    part.truncate(start)  # the whole chunk is refused, so nothing of it is kept
                    raise service.WeightsRefused(
                        422, "size_mismatch", f"this chunk carries more than the {min(end, upload.size) - start} "
                                              f"bytes its Content-Range (and the declared size, {upload.size}) "
                                              "allow; send exactly END-START+1 bytes")
                part.write(data)
        except ClientDisconnect:
            # Cut off mid-chunk: every byte that arrived is kept, and the client resumes from Upload-Offset.
            return Response(status_code=400, headers={"Upload-Offset": str(start + written)})
        except OSError as error:
            if error.errno in DISK_FULL:
                raise disk_full(error) from None
            raise
        finally:
            part.close()
        if start + written == upload.size:
            await run_in_threadpool(service.complete_streamed, session, store=store, upload=upload, tmp_dir=tmp_dir)
    public = _public(request, upload, store, settings, tmp_dir, with_url=True)
    response.headers["Upload-Offset"] = str(public.received)
    return public


@router.post("/{upload_id}/complete", response_model=WeightUploadPublic,
             responses={404: {"description": "no such upload of yours (`unknown_upload`)"},
                        409: {"description": "the object store does not hold the whole file yet (`upload_incomplete`)"},
                        422: {"description": "the stored bytes do not match the declared size or sha256"}})
def complete_weights(upload: OwnedUpload, request: Request, session: SessionDep, store: StoreDep,
                     settings: SettingsDep, tmp_dir: WeightsTmpDir) -> WeightUploadPublic:
    """Verify the upload's size and sha256 in the object store; only then is it ready for submissions."""
    with answered_as_rejections():
        if upload.method == "presigned":
            service.complete_presigned(session, store=store, upload=upload)
        else:
            service.complete_streamed(session, store=store, upload=upload, tmp_dir=tmp_dir)
    return _public(request, upload, store, settings, tmp_dir)


@router.delete("/{upload_id}", status_code=204,
               responses={404: {"description": "no such upload of yours (`unknown_upload`)"},
                          409: {"description": "a queued or running submission uses it (`weights_in_use`)"}})
def delete_weights(upload: OwnedUpload, session: SessionDep, store: StoreDep, tmp_dir: WeightsTmpDir) -> Response:
    """Remove the file and free its quota; refused while an unfinished submission uses it."""
    with answered_as_rejections():
        service.delete_upload(session, store=store, upload=upload, tmp_dir=tmp_dir)
    return Response(status_code=204)
