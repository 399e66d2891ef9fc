"""The weights service on SQLite and PostgreSQL: quotas, references from submissions, deletion while in use."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cortexscore.storage import FilesystemStore
from submission_api.accounts.service import create_user
from submission_api.core.models import utcnow
from submission_api.weights import service
from submission_api.weights.service import WeightsRefused
from tests.submission_api.rows import add_submission

pytestmark = pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture
def store(tmp_path):
    return FilesystemStore(tmp_path / "objects")


def declare(session, store, owner, sha256, size, quota=1000):
    return service.declare(session, store=store, owner_id=owner.id, name=f"{sha256[:4]}.bin", sha256=sha256,
                           size=size, quota_bytes=quota)


def test_the_quota_counts_pending_and_ready_uploads_of_one_account(session, store):
    owner, other = create_user(session, name="quota-owner"), create_user(session, name="quota-other")
    first, new = declare(session, store, owner, SHA_A, 600)
    assert new and first.method == "streamed" and first.status == "pending"
    assert declare(session, store, owner, SHA_A, 600) == (first, False)
    with pytest.raises(WeightsRefused) as over:
        declare(session, store, owner, SHA_B, 401)
    assert over.value.code == "over_quota" and "1001 bytes, over your quota of 1000" in over.value.message
    assert declare(session, store, other, SHA_B, 401)[1], "another account has its own quota"
    with pytest.raises(WeightsRefused) as resized:
        declare(session, store, owner, SHA_A, 601)
    assert resized.value.code == "size_mismatch"
    assert service.used_bytes(session, owner.id) == 600


def test_references_resolve_to_ready_uploads_of_the_submitter_only(session, store):
    owner, other = create_user(session, name="ref-owner"), create_user(session, name="ref-other")
    ready, _ = declare(session, store, owner, SHA_A, 10)
    service._ready(session, ready)
    declare(session, store, owner, SHA_B, 10)
    theirs, _ = declare(session, store, other, SHA_C, 10)
    service._ready(session, theirs)
    resolved = service.resolve_references(session, owner_id=owner.id, declared={"a.pt": SHA_A})
    assert resolved == [{"name": "a.pt", "sha256": SHA_A, "size": 10, "key": ready.object_key}]
    for declared, code in (({"b.pt": SHA_B}, "weights_not_ready"), ({"c.pt": SHA_C}, "unknown_weights")):
        with pytest.raises(WeightsRefused) as refused:
            service.resolve_references(session, owner_id=owner.id, declared=declared)
        assert refused.value.code == code
    with pytest.raises(WeightsRefused) as anonymous:
        service.resolve_references(session, owner_id=None, declared={"a.pt": SHA_A})
    assert anonymous.value.status == 401 and anonymous.value.code == "weights_need_account"


def test_weights_in_use_by_an_unfinished_submission_cannot_be_deleted(session, store, tmp_path):
    owner = create_user(session, name="delete-owner")
    upload, _ = declare(session, store, owner, SHA_A, 10)
    service._ready(session, upload)
    add_submission(session, owner=owner, jobs=[("m", ("Bench.IT", "IT", True), "queued", None, None)])
    running = add_submission(session, owner=owner, jobs=[("m", ("Bench.IT", "IT", True), "queued", None, None)])
    running.weights = [{"name": "a.pt", "sha256": SHA_A, "size": 10, "key": upload.object_key}]
    session.commit()
    with pytest.raises(WeightsRefused) as in_use:
        service.delete_upload(session, store=store, upload=upload, tmp_dir=tmp_path)
    assert in_use.value.code == "weights_in_use" and running.id in in_use.value.message
    running.status = "completed"
    session.commit()
    service.delete_upload(session, store=store, upload=upload, tmp_dir=tmp_path)
    assert service.get_upload(session, upload.id) is None and service.used_bytes(session, owner.id) == 0


def test_abandoned_pending_uploads_and_orphan_part_files_are_removed(session, store, tmp_path):
    owner = create_user(session, name="abandoning-owner")
    old, _ = declare(session, store, owner, SHA_A, 10)
    old.created_at = utcnow() - timedelta(days=8)
    recent, _ = declare(session, store, owner, SHA_B, 10)
    ready, _ = declare(session, store, owner, SHA_C, 10)
    ready.created_at = old.created_at
    service._ready(session, ready)
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in (old.id, recent.id, "no-such-upload"):
        (parts / f"{name}.part").write_bytes(b"12345")
    assert service.remove_abandoned_uploads(session, store=store, tmp_dir=parts, older_than_seconds=7 * 86400) == 2
    assert {upload.id for upload in service.list_uploads(session, owner.id)} == {recent.id, ready.id}
    assert [path.name for path in parts.iterdir()] == [f"{recent.id}.part"]
