"""Running platforms shared by the account, leaderboard, CLI, webhook and browser tests.

``scored_platform`` runs one scorer and offers two leaderboard benchmarks,
``Fixture2026.V1-pls`` and ``Fixture2026.IT-pls``: catalogue entries over the
synthetic benchmark's data, registered as leaderboard benchmarks of V1 and IT,
so that the leaderboard has real scores in two regions without external data.
At start-up its first user submits, publicly, the synthetic-matching example on the IT benchmark and the
tutorial's custom model on the V1 one.
"""
from __future__ import annotations

import json
import time

import pytest

from cortexscore.client import Client
from cortexscore.storage import open_store
from tests.conftest import EXAMPLES, Platform, start_platform, zip_folder

FIXTURE_BENCHMARKS = {"Fixture2026.V1-pls": "V1", "Fixture2026.IT-pls": "IT"}
SYNTHETIC = "Synthetic2026.IT-pls"
ADMIN_TOKEN = "cs_test-admin-token"
_running: dict[str, Platform] = {}


def register_fixture_benchmarks(platform: Platform) -> None:
    store = open_store(str(platform.var / "store"))
    key = f"catalog/{SYNTHETIC}/v1.json"
    deadline = time.monotonic() + 120
    while not store.exists(key):
        if time.monotonic() > deadline:
            raise AssertionError("the store never registered the synthetic benchmark:\n" + platform.logs())
        time.sleep(0.5)
    synthetic = json.loads(b"".join(store.iter_chunks(key)))
    for identifier, region in FIXTURE_BENCHMARKS.items():
        spec = {**synthetic, "identifier": identifier, "region": region, "leaderboard": True, "synthetic": False,
                "citation": "a test fixture over the synthetic data"}
        document = platform.var / f"{identifier}.json"
        document.write_text(json.dumps(spec))
        store.put_file(f"catalog/{identifier}/v1.json", document)


def _shared(name: str, request, tmp_path_factory, start) -> Platform:
    if name not in _running:
        _running[name] = start(tmp_path_factory.mktemp(name))
        # Every module that imports the fixture gets its own FixtureDef; the platform itself is started once.
        request.session.config.add_cleanup(_running[name].stop)
    return _running[name]


def _start_scored(var) -> Platform:
    platform = start_platform(var, scorers=1, API_ADMIN_TOKEN=ADMIN_TOKEN, API_WEBHOOK_BACKOFF_SECONDS="0.5",
                              API_WEBHOOK_POLL_SECONDS="0.3")
    register_fixture_benchmarks(platform)
    with Client(platform.url, ADMIN_TOKEN) as admin:
        user = admin.sign_up("first-user")
    with Client(platform.url, user["token"]) as client:
        folder = EXAMPLES / "synthetic_match_submission" / "synthetic_match"
        platform.match_submission = client.submit(zip_folder(folder, var / "match.zip"),
                                                  benchmarks=["Fixture2026.IT-pls"], public=True)["id"]
        folder = EXAMPLES / "custom_model_submission" / "my_custom_submission"
        platform.custom_submission = client.submit(zip_folder(folder, var / "custom.zip"),
                                                   benchmarks=["Fixture2026.V1-pls"], public=True)["id"]
    platform.user_token = user["token"]
    return platform


@pytest.fixture(scope="session")
def scored_platform(request, tmp_path_factory) -> Platform:
    return _shared("scored", request, tmp_path_factory, _start_scored)


def _start_accounts(var) -> Platform:
    return start_platform(var, scorers=0, API_ALLOW_ANONYMOUS="false", API_ALLOW_SIGNUP="false",
                          API_ADMIN_TOKEN=ADMIN_TOKEN, API_QUOTA_UPLOADS_PER_DAY="5",
                          API_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="false")


@pytest.fixture(scope="session")
def accounts_platform(request, tmp_path_factory) -> Platform:
    """As deployed: closed sign-up, no anonymous uploads, public webhook hosts only; a daily quota of 5, and no
    scorer, so jobs stay queued."""
    return _shared("accounts", request, tmp_path_factory, _start_accounts)


# Issue 13: a submission zip may hold at most WEIGHTS_ZIP_LIMIT bytes here, so any real weights must be uploaded
# on their own; each account may keep WEIGHTS_QUOTA bytes of them.
WEIGHTS_ZIP_LIMIT = 64 << 10
WEIGHTS_QUOTA = 2 << 20


def _sign_up_weights_users(platform: Platform) -> Platform:
    with Client(platform.url, ADMIN_TOKEN) as admin:
        platform.user_token = admin.sign_up("weights-owner")["token"]
        platform.other_token = admin.sign_up("someone-else")["token"]
    return platform


def _start_weights(var) -> Platform:
    platform = start_platform(var, scorers=1, API_ADMIN_TOKEN=ADMIN_TOKEN, API_MAX_UPLOAD_BYTES=str(WEIGHTS_ZIP_LIMIT),
                              API_WEIGHTS_QUOTA_BYTES=str(WEIGHTS_QUOTA))
    return _sign_up_weights_users(platform)


@pytest.fixture(scope="session")
def weights_platform(request, tmp_path_factory) -> Platform:
    """The embedded default (filesystem object store: streamed, resumable weight uploads), one scorer, a zip
    limit of 64 KiB and a weights quota of 2 MiB per account; ``user_token`` and ``other_token`` are two accounts."""
    return _shared("weights", request, tmp_path_factory, _start_weights)


def _start_weights_s3(var) -> Platform:
    from tests.benchmark_store.test_object_stores import ACCESS_KEY, SECRET_KEY, RcloneS3

    s3 = RcloneS3(var / "s3").start()
    try:
        platform = start_platform(var / "platform", scorers=1, API_ADMIN_TOKEN=ADMIN_TOKEN,
                                  API_MAX_UPLOAD_BYTES=str(WEIGHTS_ZIP_LIMIT), API_WEIGHTS_QUOTA_BYTES=str(WEIGHTS_QUOTA),
                                  API_OBJECT_STORE=s3.url, API_S3_ACCESS_KEY=ACCESS_KEY, API_S3_SECRET_KEY=SECRET_KEY,
                                  # Clients reach the store by another name than the API does, as in a cluster.
                                  API_S3_PUBLIC_URL=f"http://localhost:{s3.port}")
    except BaseException:
        s3.stop()
        raise
    stop = platform.stop

    def stop_both() -> None:
        stop()
        s3.stop()

    platform.stop, platform.s3 = stop_both, s3
    return _sign_up_weights_users(platform)


@pytest.fixture(scope="session")
def weights_s3_platform(request, tmp_path_factory) -> Platform:
    """As weights_platform, on an S3 object store (`rclone serve s3`, as ``platform.s3``): presigned weight uploads."""
    return _shared("weights-s3", request, tmp_path_factory, _start_weights_s3)
