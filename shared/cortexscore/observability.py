"""Prometheus metrics and one-JSON-object-per-line logs, shared by every service.

Each service hooks in with one call: the web services with
:func:`instrument` (a ``/metrics`` route, request IDs, request timings,
upload bytes), the scorer with :func:`serve_metrics` (with its ``/healthz``); their ``main()``
configures logging with :func:`configure_logging` (or hands
:func:`uvicorn_log_config` to uvicorn). Log records carry the request ID of
the request being served (the ``X-Request-ID`` header, made up when absent,
and echoed in the response) and the job ID when there is one.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_id", default=None)

# Job durations span seconds (a tiny model) to hours (a large model on a large benchmark).
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf"))

HTTP_DURATION = Histogram("cortexscore_http_request_duration_seconds", "Time to answer an HTTP request.",
                          ["service", "method", "route", "status"])
UPLOAD_BYTES = Counter("cortexscore_upload_bytes_total", "Bytes received in submission uploads.")
JOB_DURATION = Histogram("cortexscore_job_duration_seconds", "Wall time of a job from claim to report.",
                         ["benchmark", "outcome"], buckets=JOB_BUCKETS)
JOB_FAILURES = Counter("cortexscore_job_failures_total", "Failed job attempts, by whose fault.", ["kind"])

_JOB_IN_PATH = re.compile(r"/jobs/(\d+)(?:/|$)")
_JOB_IN_MESSAGE = re.compile(r"^job (\d+):")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, service, logger, message, request and job IDs, exception.

    >>> formatter = JsonFormatter("scorer")
    >>> record = logging.LogRecord("scorer", logging.INFO, __file__, 1, "job 7: done in %.1fs", (2.5,), None)
    >>> line = json.loads(formatter.format(record))
    >>> line["message"], line["job_id"], line["service"]
    ('job 7: done in 2.5s', 7, 'scorer')
    """

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "service": self.service, "logger": record.name,
                 "message": message}
        # Services name the job in their messages ("job 7: ..."); a request context names it in its path.
        job_id = job_id_var.get()
        if job_id is None and (match := _JOB_IN_MESSAGE.match(message)):
            job_id = int(match.group(1))
        for key, value in (("request_id", request_id_var.get()), ("job_id", job_id)):
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _json_logs_wanted() -> bool:
    # CORTEXSCORE_LOG_FORMAT=text keeps the plain lines some people prefer in a terminal.
    return os.environ.get("CORTEXSCORE_LOG_FORMAT", "json").lower() != "text"


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Log JSON lines to stderr from every logger of this process (plain text with CORTEXSCORE_LOG_FORMAT=text)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service) if _json_logs_wanted()
                         else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def uvicorn_log_config(service: str) -> dict:
    """A ``log_config`` for ``uvicorn.run``: its server and access logs go through the same JSON handler."""
    formatter = ({"()": JsonFormatter, "service": service} if _json_logs_wanted()
                 else {"format": "%(levelname)s %(name)s: %(message)s"})
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def metrics_response(*registries: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus exposition of the process-wide registry and of ``registries``, and its content type."""
    return b"".join(generate_latest(registry) for registry in (REGISTRY, *registries)), CONTENT_TYPE_LATEST


class GaugeCollector:
    """A gauge read at scrape time: ``read()`` returns ``{label value: number}`` for one label.

    >>> registry = CollectorRegistry()
    >>> registry.register(GaugeCollector("demo_depth", "Jobs waiting.", "status", lambda: {"queued": 3}))
    >>> registry.get_sample_value("demo_depth", {"status": "queued"})
    3.0
    """

    def __init__(self, name: str, documentation: str, label: str, read: Callable[[], dict[str, float]]):
        self.name, self.documentation, self.label, self.read = name, documentation, label, read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        try:
            values = self.read()
        except Exception:  # a scrape while the database is down reports no sample rather than failing
            logging.getLogger(__name__).warning("could not read %s", self.name, exc_info=True)
            values = {}
        for label_value, value in values.items():
            family.add_metric([label_value], float(value))
        yield family


def instrument(app, service: str, *, collectors: Iterable = (), upload_paths: tuple[str, ...] = (),
               on_response: Callable[[str, str, int], None] | None = None) -> None:
    """Give a FastAPI app ``GET /metrics``, request IDs, request timings and JSON-loggable context.

    ``collectors`` are registered for this app only (several apps may live in one test process);
    bytes of POST bodies to ``upload_paths`` count as upload bytes; ``on_response(method, path, status)``
    runs after each response, for service-specific metrics.
    """
    from fastapi import Response

    registry = CollectorRegistry(auto_describe=True)
    for collector in collectors:
        registry.register(collector)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = metrics_response(registry)
        return Response(body, media_type=content_type)

    app.add_middleware(_ObservabilityMiddleware, service=service, upload_paths=upload_paths,
                       on_response=on_response)


class _ObservabilityMiddleware:
    """Pure ASGI, so it never buffers a body: it counts upload bytes as they stream past."""

    def __init__(self, app, service: str, upload_paths: tuple[str, ...], on_response):
        self.app, self.service, self.upload_paths, self.on_response = app, service, upload_paths, on_response

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        path, method = scope["path"], scope["method"]
        job_match = _JOB_IN_PATH.search(path)
        request_token = request_id_var.set(request_id)
        job_token = job_id_var.set(int(job_match.group(1)) if job_match else None)
        status = 500
        started = time.perf_counter()

        counted_receive = receive
        if method == "POST" and path in self.upload_paths:
            async def counted_receive():
                message = await receive()
                UPLOAD_BYTES.inc(len(message.get("body", b"")))
                return message

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_id)
        finally:
            route = scope.get("route")
            # The route template, not the path: one time series per endpoint, not per submission.
            template = getattr(route, "path", None) or "unmatched"
            HTTP_DURATION.labels(self.service, method, template, str(status)).observe(time.perf_counter() - started)
            if self.on_response is not None:
                from starlette.concurrency import run_in_threadpool

                try:  # in a thread: the hook may query a database
                    await run_in_threadpool(self.on_response, method, path, status)
                except Exception:
                    logging.getLogger(__name__).warning("metrics hook failed for %s %s", method, path, exc_info=True)
            request_id_var.reset(request_token)
            job_id_var.reset(job_token)


def serve_metrics(port_variable: str, health: Callable[[], tuple[bool, dict]] | None = None) -> int | None:
    """Serve ``/metrics`` (and ``/healthz`` when ``health`` is given) on the port named by ``port_variable``.

    ``health()`` returns whether the process is healthy and a JSON body saying why; ``/healthz`` answers
    200 or 503 with it. Returns the port, or None when the variable is unset or the port is taken.
    """
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/metrics":
                self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz" and health is not None:
                healthy, body = health()
                self._answer(200 if healthy else 503, json.dumps(body).encode(), "application/json")
            else:
                self._answer(404, json.dumps({"detail": f"no route {self.path}; try /metrics or /healthz"}).encode(),
                             "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:  # probes every few seconds would drown the job logs
            pass

    port = int(os.environ.get(port_variable) or 0)
    if not port:
        return None
    try:
        server = ThreadingHTTPServer((os.environ.get("METRICS_HOST", "0.0.0.0"), port), Handler)
    except OSError as error:
        # Metrics are not worth a worker: a taken port costs the scrape, not the jobs.
        logging.getLogger(__name__).warning("no metrics: cannot listen on port %d (%s)", port, error)
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return port
