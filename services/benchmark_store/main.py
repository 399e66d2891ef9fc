"""The benchmark store: a catalogue of versioned, checksummed stimulus sets and assemblies."""
from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.ingest import ingest_all
from cortexscore.observability import configure_logging, instrument, uvicorn_log_config
from cortexscore.storage import ObjectNotFound, ObjectStore, StorageError, open_store

from benchmark_store.catalog import get_benchmark, list_benchmarks
from benchmark_store.config import StoreSettings, get_settings
from benchmark_store.synthetic import ensure_synthetic
from benchmark_store.thumbnails import NotPublic, stimulus_thumbnail

log = logging.getLogger("benchmark_store")
PRIVATE_PREFIX = "private/"


def build_store(settings: StoreSettings) -> ObjectStore:
    return open_store(settings.object_store_url, access_key=settings.s3_access_key,
                      secret_key=settings.s3_secret_key.get_secret_value())


def get_store(request: Request) -> ObjectStore:
    return request.app.state.store


StoreDep = Annotated[ObjectStore, Depends(get_store)]


def is_worker(authorization: Annotated[str | None, Header()] = None) -> bool:
    expected = f"Bearer {get_settings().worker_token.get_secret_value()}"
    return authorization is not None and hmac.compare_digest(authorization, expected)


def ingest_pinned_datasets(store: ObjectStore, settings: StoreSettings) -> None:
    log.info("ingesting the pinned datasets from %s", settings.mirror_dir)
    try:
        specs = ingest_all(store, settings.mirror_dir, log.info)
    except Exception:  # logged, never fatal: the store keeps serving what it has
        log.exception("ingest from %s failed", settings.mirror_dir)
        return
    log.info("ingest finished: %d real benchmarks in the catalogue", len(specs))


def create_app(settings: StoreSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = build_store(settings)
        if settings.generate_synthetic:
            ensure_synthetic(app.state.store, settings.synthetic_stimuli)
        if settings.ingest:
            # Before serving: a submission made right after start-up must see the whole default suite.
            # A repeated ingest only checks what is there, so later starts are quick.
            ingest_pinned_datasets(app.state.store, settings)
        yield

    app = FastAPI(title="CortexScore benchmark store", lifespan=lifespan)

    @app.get("/healthz")
    def healthz(store: StoreDep) -> dict:
        try:
            store.keys("catalog/")
        except StorageError as error:
            raise HTTPException(503, f"object store unavailable: {error}") from error
        return {"status": "ok"}

    @app.get("/benchmarks", response_model=list[BenchmarkSpec])
    def benchmarks(store: StoreDep) -> list[BenchmarkSpec]:
        return list_benchmarks(store)

    @app.get("/benchmarks/{identifier}", response_model=BenchmarkSpec)
    def benchmark(identifier: str, store: StoreDep, version: int | None = None) -> BenchmarkSpec:
        try:
            return get_benchmark(store, identifier, version)
        except ObjectNotFound:
            raise HTTPException(404, f"no benchmark {identifier!r}; GET /benchmarks lists them") from None

    @app.get("/benchmarks/{identifier}/stimuli/{index}.png", response_class=Response,
             responses={200: {"content": {"image/png": {}}}})
    def stimulus_thumbnail_png(identifier: str, index: int, store: StoreDep) -> Response:
        """A thumbnail of a public benchmark's stimulus ``index``; private stimuli are 403."""
        try:
            spec = get_benchmark(store, identifier)
            png = stimulus_thumbnail(store, spec, index)
        except ObjectNotFound:
            raise HTTPException(404, f"no benchmark {identifier!r}") from None
        except NotPublic as error:
            raise HTTPException(403, str(error)) from None
        except IndexError:
            raise HTTPException(404, f"{identifier} has no stimulus {index}") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/objects/{key:path}")
    def read_object(key: str, store: StoreDep, worker: Annotated[bool, Depends(is_worker)]) -> StreamingResponse:
        if key.startswith(PRIVATE_PREFIX) and not worker:
            raise HTTPException(403, "private data is served to scorers only")
        try:
            info = store.stat(key)
        except ObjectNotFound:
            raise HTTPException(404, f"no object {key!r}") from None
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
        return StreamingResponse(store.iter_chunks(key), media_type="application/octet-stream",
                                 headers={"Content-Length": str(info.size)})

    @app.exception_handler(StorageError)
    async def storage_unavailable(request: Request, error: StorageError):
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})

    instrument(app, "benchmark_store")
    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    configure_logging("benchmark_store")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                log_config=uvicorn_log_config("benchmark_store"),
                # Longer than any client keeps an idle connection, so the server never closes one mid-request.
                timeout_keep_alive=75)


if __name__ == "__main__":
    main()
