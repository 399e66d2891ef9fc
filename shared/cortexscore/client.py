"""A Python client of the CortexScore submission API, for scripts, notebooks, CI and the ``cortexscore`` CLI.

>>> with Client("http://127.0.0.1:8000", token="cs_example") as client:
...     client.url
'http://127.0.0.1:8000'

Typical use (against a running platform)::

    with Client() as client:                      # CORTEXSCORE_URL, CORTEXSCORE_TOKEN
        created = client.submit("my_submission/", benchmarks=["MajajHong2015.IT-pls"])
        scores = client.wait(created["id"])
        print(scores["aggregate"])

A receiver checks that a completion webhook came from the platform with
:func:`verify_webhook` (from :mod:`cortexscore.webhooks`, importable here too).
"""
from __future__ import annotations

import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

# Re-exported: receivers import the verifier from the client, as the docs show.
from cortexscore.webhooks import WebhookVerificationError, sign_webhook, verify_webhook  # noqa: F401

DEFAULT_URL = "http://127.0.0.1:8000"
# One PUT of a streamed weights upload: small enough that a cut connection loses little, large enough to be fast.
WEIGHTS_CHUNK_BYTES = 8 << 20
WEIGHTS_ATTEMPTS = 8
ENDED = ("completed", "failed", "cancelled")
SKIPPED_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX", ".DS_Store"}


class ApiError(Exception):
    """The platform answered with an error status; ``detail`` is its JSON ``detail``."""

    def __init__(self, status_code: int, detail, retry_after: str | None = None):
        self.status_code, self.detail, self.retry_after = status_code, detail, retry_after
        super().__init__(f"HTTP {status_code}: {self.message}")

    @property
    def message(self) -> str:
        """The answer's message, and each listed problem that the message does not already say.

        >>> detail = {"code": "missing_file", "message": "The submission zip has 2 problems: a is missing; b is "
        ...           "missing", "problems": [{"message": "a is missing"}, {"message": "b is missing"}]}
        >>> ApiError(422, detail).message
        'The submission zip has 2 problems: a is missing; b is missing'
        >>> ApiError(422, {"message": "2 problems", "problems": [{"message": "a"}, {"message": "b"}]}).message
        '2 problems; a; b'
        """
        if isinstance(self.detail, dict):
            summary = str(self.detail.get("message", self.detail))
            problems = [problem.get("message", "") for problem in self.detail.get("problems", [])
                        if isinstance(problem, dict)]
            extra = [text for text in dict.fromkeys(problems) if text and not _says(summary, text)]
            return "; ".join([summary, *extra])
        if isinstance(self.detail, list):  # FastAPI's own validation errors
            return "; ".join(f"{'.'.join(map(str, item.get('loc', [])))}: {item.get('msg', item)}"
                             if isinstance(item, dict) else str(item) for item in self.detail)
        return str(self.detail)


def _says(summary: str, text: str) -> bool:
    """Whether ``summary`` already holds ``text`` as one of its listed parts (``...: a; b``)."""
    return summary == text or summary.endswith((f": {text}", f"; {text}")) or f": {text}; " in summary \
        or f"; {text}; " in summary


class PlatformUnreachable(Exception):
    """The platform did not answer at all (wrong URL, not running, network down)."""


def _transient(error: BaseException) -> bool:
    """Worth another try: no answer, a cut connection, a timeout, or a server error; never a refusal."""
    if isinstance(error, (PlatformUnreachable, httpx.TransportError)):
        return True
    if isinstance(error, ApiError) and isinstance(error.detail, dict) and error.detail.get("code") == "upload_busy":
        return True  # another of our requests (one we gave up on) is still writing or verifying the upload
    return isinstance(error, ApiError) and (error.status_code >= 500 or error.status_code == 408)


def _retrying(attempts: int):
    """tenacity's retry for the steps of a weights upload: backing off 0.5 s, 1 s, 2 s ... up to 20 s."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    return retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(attempts),
                 wait=wait_exponential(multiplier=0.5, max=20), reraise=True)


def file_sha256(path: Path, progress: Callable[[str, int, int], None] | None = None) -> str:
    """The file's sha256, read in chunks; ``progress("hashing", done, total)`` after each."""
    import hashlib

    digest, done, total = hashlib.sha256(), 0, Path(path).stat().st_size
    with open(path, "rb") as handle:
        while chunk := handle.read(WEIGHTS_CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress("hashing", done, total)
    return digest.hexdigest()


def _submission_root(folder: Path) -> Path:
    if (folder / "models").is_dir():
        return folder
    candidates = [child for child in folder.iterdir() if child.is_dir() and (child / "models").is_dir()]
    if len(candidates) != 1:
        raise ValueError(f"{folder} is not a submission folder: it needs models/ inside it, or exactly one "
                         f"subfolder that has one (found {len(candidates)})")
    return candidates[0]


def zip_submission(path: str | Path, out_dir: str | Path | None = None) -> Path:
    """The zip to upload: ``path`` itself if it is a file, else the submission folder zipped as ``zip -r`` would.

    The zip holds one root folder, named as the submission folder; caches
    such as ``__pycache__`` are left out.

    >>> folder = Path(tempfile.mkdtemp()) / "my_submission"
    >>> (folder / "models").mkdir(parents=True)
    >>> _ = (folder / "models" / "base_models.py").write_text("")
    >>> sorted(zipfile.ZipFile(zip_submission(folder)).namelist())
    ['my_submission/models/base_models.py']
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist; give the submission folder or its zip")
    if path.is_file():
        return path
    root = _submission_root(path)
    out_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="cortexscore-"))
    target = out_dir / f"{root.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(root.rglob("*")):
            relative = file.relative_to(root)
            if file.is_file() and not SKIPPED_PARTS & set(relative.parts) and file.suffix != ".pyc":
                archive.write(file, Path(root.name) / relative)
    return target


class Client:
    """The submission API over HTTP. ``url`` and ``token`` default to $CORTEXSCORE_URL and $CORTEXSCORE_TOKEN.

    Every method returns the API's JSON; error answers raise :class:`ApiError`,
    and no answer at all raises :class:`PlatformUnreachable`.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60.0):
        self.url = (url or os.environ.get("CORTEXSCORE_URL") or DEFAULT_URL).rstrip("/")
        self.token = token = token or os.environ.get("CORTEXSCORE_TOKEN") or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        # The owner secret of each anonymous upload made through this client: it manages the submission.
        self.owner_secrets: dict[str, str] = {}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs):
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise PlatformUnreachable(f"cannot reach the platform at {self.url} ({type(error).__name__}: "
                                      f"{error}); is it running? Set --url or CORTEXSCORE_URL") from error
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail, response.headers.get("retry-after"))
        return response.json() if response.content else None

    def submit(self, path: str | Path, benchmarks: list[str] | str | None = None, public: bool | None = None,
               callback_url: str | None = None) -> dict:
        """Upload a submission folder (zipped on the fly) or zip; returns ``id``, ``status``, ``models``, ``benchmarks``."""
        archive = zip_submission(path)
        fields = {}
        if benchmarks:
            fields["benchmarks"] = benchmarks if isinstance(benchmarks, str) else ",".join(benchmarks)
        if public is not None:
            fields["public"] = "true" if public else "false"
        if callback_url:
            fields["callback_url"] = callback_url
        with open(archive, "rb") as handle:
            created = self._request("POST", "/submissions", data=fields,
                                    files={"file": (archive.name, handle, "application/zip")})
        if created.get("owner_secret"):
            self.owner_secrets[created["id"]] = created["owner_secret"]
        return created

    def _owner(self, submission_id: str) -> dict:
        secret = self.owner_secrets.get(submission_id) or os.environ.get("CORTEXSCORE_OWNER_SECRET")
        return {"headers": {"X-Owner-Secret": secret}} if secret else {}

    def submission(self, submission_id: str) -> dict:
        return self._request("GET", f"/submissions/{submission_id}")

    def scores(self, submission_id: str) -> dict:
        return self._request("GET", f"/submissions/{submission_id}/scores")

    def logs(self, submission_id: str) -> str:
        return self._request("GET", f"/submissions/{submission_id}/logs", **self._owner(submission_id))["log"]

    def cancel(self, submission_id: str) -> dict:
        return self._request("DELETE", f"/submissions/{submission_id}", **self._owner(submission_id))

    def wait(self, submission_id: str, poll_seconds: float = 2.0, timeout: float | None = None,
             on_update: Callable[[dict], None] | None = None) -> dict:
        """Poll the scores until the submission has ended; ``on_update`` sees each poll. Returns the last scores."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            scores = self.scores(submission_id)
            if on_update is not None:
                on_update(scores)
            if scores["status"] in ENDED:
                return scores
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"submission {submission_id} is still {scores['status']} after {timeout}s")
            time.sleep(poll_seconds)

    def queue_place(self, submission_id: str) -> dict | None:
        """The submission's place in the queue (position, jobs ahead, ETA in seconds); None if the API has no
        queue (an older platform)."""
        try:
            queue = self._request("GET", "/queue", params={"submission": submission_id})
        except Exception:  # the place is a courtesy: an older API, or a hiccup, must not stop a submit
            return None
        return next((entry for entry in queue.get("submissions", []) if entry["submission_id"] == submission_id),
                    None)

    def upload_weights(self, path: str | Path, name: str | None = None,
                       progress: Callable[[str, int, int], None] | None = None,
                       attempts: int = WEIGHTS_ATTEMPTS, chunk_bytes: int = WEIGHTS_CHUNK_BYTES) -> dict:
        """Upload a weights file too big for a submission zip; returns the ready upload (its ``sha256``, and the
        ``reference`` line for the submission's weights.toml). Needs a token: weights count against its quota.

        ``progress(stage, done, total)`` follows it: stages "hashing", "resuming", "uploading", "verifying", or
        "reused" when the account already has this file, ready.
        Running it again after an interruption resumes: a streamed upload (the filesystem store) from the last
        byte the platform has, a presigned one (S3/MinIO) by sending the file again unless it already arrived.
        Transient failures (no answer, 5xx) are retried ``attempts`` times with backoff.
        """
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path} is not a file; give the weights file to upload")
        report = progress or (lambda stage, done, total: None)
        size = path.stat().st_size
        if size == 0:
            raise ValueError(f"{path} is empty; there is nothing to upload")
        sha256 = file_sha256(path, report)
        retrying = _retrying(attempts)
        upload = retrying(self._request)("POST", "/weights", json={"name": name or path.name, "sha256": sha256,
                                                                   "size": size})
        if upload["status"] == "ready":
            report("reused", size, size)
            return upload
        if upload["method"] == "presigned":
            return self._send_presigned(upload, path, report, retrying)
        return retrying(self._send_streamed)(upload["id"], path, report, chunk_bytes)

    def _send_streamed(self, upload_id: str, path: Path, report, chunk_bytes: int) -> dict:
        """Send what the platform lacks of a streamed upload, from the offset it reports, chunk by chunk."""
        state = self._request("GET", f"/weights/{upload_id}")
        offset, size = state["received"], state["size"]
        if offset:
            report("resuming", offset, size)
        if offset == size and state["status"] != "ready":  # all sent before, but never verified
            report("verifying", size, size)
            return self._request("POST", f"/weights/{upload_id}/complete", timeout=self._verify_timeout(size))
        with open(path, "rb") as handle:
            handle.seek(offset)
            while state["status"] != "ready":
                data = handle.read(chunk_bytes)
                if not data:
                    raise ValueError(f"{path} is shorter than the {size} bytes it was hashed with; did it change?")
                last = offset + len(data) == size
                state = self._request("PUT", f"/weights/{upload_id}", content=data, headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{size}"},
                    **({"timeout": self._verify_timeout(size)} if last else {}))
                offset = state["received"]
                report("uploading", offset, size)
        report("verifying", size, size)
        return state

    def _verify_timeout(self, size: int) -> httpx.Timeout:
        """The answer to the request that completes an upload waits for the platform to hash the whole file: allow
        the usual timeout plus a second per 50 MB."""
        return httpx.Timeout(self._http.timeout.connect, read=(self._http.timeout.read or 60) + size / 50e6)

    def _send_presigned(self, upload: dict, path: Path, report, retrying) -> dict:
        """PUT the file to the object store's presigned URL (never through the API), then have the API verify it."""
        upload_id, size = upload["id"], upload["size"]
        try:  # an earlier run's PUT may have arrived whole before it was cut off: then only completion is left
            return self._request("POST", f"/weights/{upload_id}/complete", timeout=self._verify_timeout(size))
        except ApiError as error:
            if error.status_code != 409 and not (isinstance(error.detail, dict)
                                                 and error.detail.get("code") == "size_mismatch"):
                raise

        def put() -> None:
            # A fresh URL for each try: one may have expired during a long transfer.
            target = self._request("GET", f"/weights/{upload_id}")["upload_url"]

            def body():
                done = 0
                with open(path, "rb") as handle:
                    while chunk := handle.read(WEIGHTS_CHUNK_BYTES):
                        yield chunk
                        done += len(chunk)
                        report("uploading", done, size)

            # Not through self._http: the object store checks the URL's signature, and must not get our token.
            try:
                with httpx.Client(timeout=self._http.timeout) as direct:
                    response = direct.put(target, content=body(), headers={"Content-Length": str(size)})
            except httpx.TransportError as error:
                raise PlatformUnreachable(f"the object store at {target.split('?')[0]} did not take the upload "
                                          f"({type(error).__name__}: {error})") from error
            if response.status_code >= 400:
                raise ApiError(response.status_code, f"the object store refused the upload: "
                                                     f"{response.text[:500]}")

        retrying(put)()
        report("verifying", size, size)
        return retrying(self._request)("POST", f"/weights/{upload_id}/complete", timeout=self._verify_timeout(size))

    def weights(self) -> dict:
        """Your weight uploads, and how much of your quota they use."""
        return self._request("GET", "/weights")

    def leaderboard(self) -> dict:
        return self._request("GET", "/leaderboard")

    def benchmarks(self) -> list[dict]:
        return self._request("GET", "/benchmarks")

    def sign_up(self, name: str, token_name: str = "") -> dict:
        """Create an account; the answer holds its first ``token``, shown only this once."""
        return self._request("POST", "/users", json={"name": name, "token_name": token_name})

    def create_token(self, name: str = "") -> dict:
        """A new token for the calling user; the answer's ``token`` is shown only this once."""
        return self._request("POST", "/tokens", json={"name": name})

    def tokens(self) -> list[dict]:
        return self._request("GET", "/tokens")

    def revoke_token(self, token_id: int) -> dict:
        return self._request("DELETE", f"/tokens/{token_id}")

    def me(self) -> dict:
        return self._request("GET", "/users/me")
