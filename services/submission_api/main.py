"""The submission API: uploads, the job queue, scores and the leaderboard."""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from fastapi.staticfiles import StaticFiles

from cortexscore.observability import configure_logging, uvicorn_log_config
from cortexscore.storage import StorageError, open_store

from submission_api.accounts.router import router as accounts_router
from submission_api.accounts.service import AdminNameSquatted, ReferenceAccountRefused, ensure_admin, ensure_reference
from submission_api.core.config import ApiSettings, get_settings
from submission_api.core.db import make_engine, make_sessionmaker, migrate
from submission_api.core.openapi import document_error_shapes
from submission_api.core.security import install_security
from submission_api.jobs.router import router as jobs_router
from submission_api.jobs.tasks import LeaseSweeper
from submission_api.leaderboard.pages import STATIC_DIR
from submission_api.leaderboard.router import router as leaderboard_router
from submission_api.platform.catalogue import Catalogue
from submission_api.platform.metrics import install_metrics
from submission_api.platform.router import router as platform_router
from submission_api.queue.router import router as queue_router
from submission_api.submissions.ratelimit import SlidingWindow
from submission_api.submissions.router import router as submissions_router
from submission_api.submissions.service import remove_upload_leftovers
from submission_api.webhooks.router import router as webhooks_router
from submission_api.weights.router import router as weights_router
from submission_api.webhooks.tasks import WebhookDispatcher
from submission_api.weights.service import remove_abandoned_uploads

log = logging.getLogger("submission_api")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        dispatcher = WebhookDispatcher(app.state.sessionmaker, settings)
        sweeper = LeaseSweeper(app.state.sessionmaker, settings)
        dispatcher.start()
        sweeper.start()
        yield
        sweeper.stop()
        dispatcher.stop()

    # FastAPIOffline serves Swagger UI and ReDoc from the installed package: /docs works without internet.
    app = FastAPIOffline(title="CortexScore submission API", version="1", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database)
    migrate(app.state.engine)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.anonymous_uploads = SlidingWindow(settings.anonymous_uploads_per_window,
                                                settings.anonymous_upload_window_seconds)
    # The accounts start-up keeps: the bootstrap admin, and the reserved `reference` account of `make seed`.
    for token, ensure, what in ((settings.admin_token, ensure_admin, "bootstrap admin"),
                                (settings.reference_token, ensure_reference, "reference account")):
        if token.get_secret_value():
            with app.state.sessionmaker() as session:
                try:
                    ensure(session, token.get_secret_value())
                except (AdminNameSquatted, ReferenceAccountRefused) as error:
                    # Refuse loudly but keep serving: no account gains rights or marks it did not have.
                    log.error("no %s: %s", what, error)
    app.state.store = open_store(settings.object_store_url, access_key=settings.s3_access_key,
                                 secret_key=settings.s3_secret_key.get_secret_value())
    app.state.catalogue = Catalogue(settings.store_url)
    with app.state.sessionmaker() as session:
        removed = remove_upload_leftovers(session, store=app.state.store, tmp_dir=settings.var_dir / "tmp",
                                          older_than_seconds=settings.leftover_seconds)
        removed += remove_abandoned_uploads(session, store=app.state.store, tmp_dir=settings.var_dir / "weights-tmp",
                                            older_than_seconds=settings.weights_abandoned_seconds)
    if removed:
        log.info("removed %d leftover(s) of uploads cut short by an earlier crash", removed)
    install_security(app, settings)
    document_error_shapes(app)
    install_metrics(app)
    app.include_router(platform_router)
    app.include_router(submissions_router)
    app.include_router(webhooks_router)
    app.include_router(weights_router)
    app.include_router(jobs_router)
    app.include_router(accounts_router)
    app.include_router(queue_router)
    app.include_router(leaderboard_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(StorageError)
    async def storage_unavailable(request: Request, error: StorageError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, error: OperationalError) -> JSONResponse:
        # A database restart or network blip: nothing was changed, and the client may retry.
        log.warning("database unavailable: %s", type(error.orig).__name__ if error.orig else error)
        return JSONResponse({"detail": "the database is unavailable; retry shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    return app


class _QuietScorerPolling(logging.Filter):
    """Scorers poll every few seconds; their idle claims and heartbeats would drown the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("/internal/jobs/" in message and ("204" in message or "/heartbeat" in message))


def main() -> None:
    import uvicorn

    settings = get_settings()
    configure_logging("submission_api")
    logging.getLogger("uvicorn.access").addFilter(_QuietScorerPolling())
    app = create_app(settings)
    # The ~130k objects of the imports, the ORM and the app live as long as the process. Left to the
    # collector, every full collection walks them all: a stop-the-world pause of 25-130 ms, about every
    # half minute at 64 polls/s, that every request in flight waits out. Frozen, they are never walked.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                log_config=uvicorn_log_config("submission_api"),
                # Longer than any client keeps an idle connection, so the server never closes one mid-request.
                timeout_keep_alive=75)


if __name__ == "__main__":
    main()
