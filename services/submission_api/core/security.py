"""Cross-cutting protections: security headers and CORS."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from submission_api.core.config import ApiSettings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'",
}
DOCS_PATHS = ("/docs", "/redoc")


def install_security(app: FastAPI, settings: ApiSettings) -> None:
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                       # Content-Range: a streamed weights upload's chunks (issue 13).
                       allow_headers=["Authorization", "Content-Type", "X-Owner-Secret", "Content-Range"],
                       expose_headers=["Upload-Offset"])

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
