"""Submission schemas: the upload form, the update body, and the responses, split Base/Public as the contract
names their fields."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from cortexscore.score import BenchmarkScore

# The words 'public' takes. Pydantic's own bool would also take t/f/y/n and refuse the empty field, which means false.
PUBLIC_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
                "off": False, "": False}
CALLBACK_URL_MAX_CHARS = 2048
# The error types SubmissionForm raises; each is also the code of the upload's rejection.
FORM_REJECTIONS = ("invalid_public", "invalid_callback_url")


class SubmissionForm(BaseModel):
    """The text fields of an upload (multipart, beside the zip), parsed in the order they are checked."""

    public: bool = False
    # None asks for the default suite; a list names benchmarks, and an empty one (e.g. " , ") names none.
    benchmarks: list[str] | None = None
    callback_url: str | None = None

    @field_validator("public", mode="before")
    @classmethod
    def _public_word(cls, value: str | None) -> bool:
        word = (value or "").strip().lower()
        if word not in PUBLIC_WORDS:
            raise PydanticCustomError("invalid_public", "'public' must be true or false, not {word}",
                                      {"word": repr(word)})
        return PUBLIC_WORDS[word]

    @field_validator("benchmarks", mode="before")
    @classmethod
    def _benchmark_names(cls, value: str | None) -> list[str] | None:
        if not value or not value.strip():
            return None
        return list(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))

    @field_validator("callback_url", mode="before")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        url = (value or "").strip()
        if not url:
            return None
        if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
            # CR/LF would split the request line or a header when the webhook is sent.
            raise PydanticCustomError("invalid_callback_url", "'callback_url' must not hold spaces or control "
                                      "characters (CR, LF, tab...), not {url}", {"url": repr(url[:100])})
        try:
            parts = urlsplit(url)
            hostname, _port = parts.hostname, parts.port
        except ValueError as error:  # e.g. "http://[::1" (an unclosed IPv6 host) or a port out of range
            raise PydanticCustomError("invalid_callback_url", "'callback_url' is not a valid URL ({reason}): {url}",
                                      {"reason": str(error), "url": repr(url[:100])}) from None
        if parts.scheme not in ("http", "https") or not hostname or len(url) > CALLBACK_URL_MAX_CHARS:
            raise PydanticCustomError("invalid_callback_url", "'callback_url' must be an http(s) URL of at most "
                                      f"{CALLBACK_URL_MAX_CHARS} characters, not {{url}}", {"url": repr(url[:100])})
        return url


class SubmissionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: bool | None = None
    hidden: bool | None = None


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    benchmark: str
    status: str
    attempts: int


class SubmissionBase(BaseModel):
    id: str
    status: str


class SubmissionCreated(SubmissionBase):
    models: list[str]
    benchmarks: list[str]


class SubmissionCreatedPublic(SubmissionCreated):
    # The secret that signs this submission's webhook: the owner's, or a fresh one for an anonymous upload.
    webhook_secret: str | None = None
    # Anonymous uploads only, shown this once: send it as X-Owner-Secret to read logs, cancel or update.
    owner_secret: str | None = None
    public: bool = Field(False, description="whether everyone sees it on the leaderboard once scored; uploads are "
                                            "private unless the form says public=true")
    visibility: str = Field("", description="who sees it on the leaderboard, and how to change that")


class SubmissionPublic(SubmissionBase):
    created_at: datetime
    layout: str
    models: list[str]
    benchmarks: list[str]
    jobs: list[JobPublic]


class ScoreEntry(BenchmarkScore):
    """One job of a submission: its score's fields (null until it succeeds), then the job's own."""

    model: str
    benchmark: str
    benchmark_version: int
    status: str
    message: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Null until the job succeeds, and where the caller leaves it out (webhooks).
    provenance: dict | None = None


class ScoresPublic(BaseModel):
    submission_id: str
    status: str
    scores: list[ScoreEntry]
    aggregate: dict[str, dict[str, float]]
    # Paging: all the submission's entries, and the offset of the next page (None on the last).
    total: int = 0
    next_offset: int | None = None


class LogsPublic(BaseModel):
    submission_id: str
    log: str


def visibility_note(submission_id: str, *, public: bool, anonymous: bool) -> str:
    """The 202 answer's ``visibility``: who sees the submission on the leaderboard, and the request that changes it.

    >>> visibility_note("abc", public=False, anonymous=False)[:60]
    'private: on the leaderboard only for you (GET /leaderboard w'
    """
    if public:
        return (f"public: everyone sees its models on the leaderboard once scored; make it private with "
                f"PATCH /submissions/{submission_id} and the body {{\"public\": false}}")
    if anonymous:
        return (f"private: it is on no one's leaderboard; make it public with PATCH /submissions/{submission_id}, "
                f"the header X-Owner-Secret: <owner_secret> and the body {{\"public\": true}}, or upload with "
                f"public=true (`cortexscore submit --public`)")
    return (f"private: on the leaderboard only for you (GET /leaderboard with your token, or /?token=<token>); "
            f"make it public with PATCH /submissions/{submission_id} and the body {{\"public\": true}}, or upload "
            f"with public=true (`cortexscore submit --public`)")
