"""Cross-cutting protections: security headers, CORS, and the lease sweeper."""
from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.orm import Session, sessionmaker

from submission_api.core.background import PeriodicTask
from submission_api.core.config import ApiSettings
from submission_api.jobs.service import sweep_expired

log = logging.getLogger("submission_api")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'",
}
DOCS_PATHS = ("/docs", "/redoc")


def install_security(app: FastAPI, settings: ApiSettings) -> None:
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PATCH", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"])

    app.add_middleware(SecurityHeadersMiddleware)


class SecurityHeadersMiddleware:
    """Adds to every response the security headers it does not set itself.

    Pure ASGI: ``@app.middleware("http")`` would run each request in an extra
    task and re-stream its body, a cost every poll paid.
    """

    # FastAPI's /docs page loads its scripts from a CDN; every other response gets the strict policy.
    HEADERS = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]
    DOCS_HEADERS = [(name, value) for name, value in HEADERS if name != b"content-security-policy"]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = self.DOCS_HEADERS if scope["path"].startswith(DOCS_PATHS) else self.HEADERS

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                present = {name.lower() for name, _value in own}
                message["headers"] = [*own, *((name, value) for name, value in headers if name not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LeaseSweeper(PeriodicTask):
    """Returns jobs with expired leases to the queue, so their status is right even when no scorer polls."""

    def __init__(self, factory: sessionmaker[Session], settings: ApiSettings):
        super().__init__("lease-sweeper", settings.sweep_seconds, self.sweep)
        self.factory, self.settings = factory, settings

    def sweep(self) -> None:
        with self.factory() as session:
            swept = sweep_expired(session, max_attempts=self.settings.max_attempts)
        if swept:
            log.info("lease sweeper: %d expired job(s) returned to the queue or failed", swept)


ERROR_DETAIL_SCHEMA = {
    "anyOf": [
        {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"},
         "description": "request validation errors, one per field"},
        {"type": "string", "description": "what is wrong and how to fix it"},
        {"type": "object", "description": "a rejected upload: code, message and every problem found",
         "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "object"}}},
         "required": ["code", "message"]},
    ],
    "title": "Detail",
}


def document_error_shapes(app: FastAPI) -> None:
    """Declare in /openapi.json every shape a 4xx ``detail`` takes here, not only FastAPI's field errors."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            validation_error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if validation_error is not None:
                validation_error["properties"]["detail"] = ERROR_DETAIL_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
