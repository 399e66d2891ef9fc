"""Public submission routes: upload, status, scores, logs, cancel."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.submission_layout import LayoutReport, check_submission_zip

from submission_api.catalogue import CatalogueUnavailable
from submission_api.deps import CatalogueDep, SessionDep, SettingsDep, StoreDep, SubmissionDep
from submission_api.schemas import LogsPublic, ScoresPublic, SubmissionCreated, SubmissionPublic
from submission_api.services import queue
from submission_api.services.submissions import create_submission, scores_of
from submission_api.upload import ReceivedUpload, receive_upload

router = APIRouter(prefix="/submissions", tags=["submissions"])
TRUE_WORDS = {"1", "true", "yes", "on"}
BOOL_WORDS = TRUE_WORDS | {"0", "false", "no", "off", ""}


@dataclass
class ValidatedUpload:
    upload: ReceivedUpload
    report: LayoutReport
    benchmarks: list[BenchmarkSpec]
    public: bool


def _unprocessable(code: str, message: str) -> HTTPException:
    return HTTPException(422, {"code": code, "message": message, "problems": [{"code": code, "message": message}]})


async def validated_upload(request: Request, settings: SettingsDep,
                           catalogue: CatalogueDep) -> AsyncIterator[ValidatedUpload]:
    """Stream the upload to disk and check it; the temporary file is removed whatever happens next."""
    upload = await receive_upload(request, settings.var_dir / "tmp", settings.max_upload_bytes)
    try:
        public_word = upload.fields.get("public", "").strip().lower()
        if public_word not in BOOL_WORDS:
            raise _unprocessable("invalid_public", f"'public' must be true or false, not {public_word!r}")
        report = await run_in_threadpool(check_submission_zip, upload.path)
        if not report.ok:
            raise HTTPException(422, report.detail())
        try:
            benchmarks, unknown = await run_in_threadpool(catalogue.resolve, upload.fields.get("benchmarks"))
        except CatalogueUnavailable as error:
            raise HTTPException(503, str(error), headers={"Retry-After": "10"}) from error
        if unknown:
            available = ", ".join(spec.identifier for spec in catalogue.all())
            raise _unprocessable("unknown_benchmark", f"unknown benchmark(s): {', '.join(unknown)}; "
                                                      f"available: {available}")
        if not benchmarks:
            raise _unprocessable("no_benchmarks", "no benchmark is available to score on")
        yield ValidatedUpload(upload, report, benchmarks, public_word in TRUE_WORDS)
    finally:
        upload.discard()


@router.post("", status_code=202, response_model=SubmissionCreated)
def submit(validated: Annotated[ValidatedUpload, Depends(validated_upload)], session: SessionDep,
           store: StoreDep) -> SubmissionCreated:
    submission = create_submission(session, store=store, upload=validated.upload, report=validated.report,
                                   benchmarks=validated.benchmarks, public=validated.public, owner_id=None)
    return SubmissionCreated(id=submission.id, status=submission.status, models=submission.models,
                             benchmarks=submission.benchmarks)


@router.get("/{submission_id}", response_model=SubmissionPublic)
def read_submission(submission: SubmissionDep) -> SubmissionPublic:
    return SubmissionPublic.model_validate(submission, from_attributes=True)


@router.get("/{submission_id}/scores", response_model=ScoresPublic)
def read_scores(submission: SubmissionDep, session: SessionDep) -> ScoresPublic:
    return scores_of(session, submission)


@router.get("/{submission_id}/logs", response_model=LogsPublic)
def read_logs(submission: SubmissionDep) -> LogsPublic:
    parts = [f"===== {job.model} on {job.benchmark} v{job.benchmark_version}: {job.status} =====\n{job.log}"
             for job in submission.jobs]
    return LogsPublic(submission_id=submission.id, log="\n".join(parts))


@router.delete("/{submission_id}", response_model=SubmissionPublic)
def cancel_submission(submission: SubmissionDep, session: SessionDep) -> SubmissionPublic:
    queue.cancel(session, submission)
    return SubmissionPublic.model_validate(submission, from_attributes=True)
