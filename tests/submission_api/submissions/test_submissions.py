"""The upload route over a real socket, against the running platform."""
import sqlite3

import pytest

from tests.zips import BASE_MODELS, tutorial_files, write_zip


def residue(platform) -> tuple[int, int, list[str]]:
    """Submissions and jobs in the database, and zips in the object store."""
    with sqlite3.connect(platform.var / "cortexscore.db") as db:
        counts = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("submissions", "jobs")]
    stored = sorted(path.name for path in (platform.var / "objects").rglob("*") if path.is_file())
    temporary = sorted(path.name for path in (platform.var / "tmp").glob("*"))
    return counts[0], counts[1], stored + temporary


def upload(platform, path, **fields):
    with platform.client() as client, open(path, "rb") as handle:
        return client.post("/submissions", files={"file": (path.name, handle, "application/zip")}, data=fields)


def broken_cases():
    no_setup = tutorial_files()
    no_setup["my_submission/setup.py"] = None
    no_models_init = tutorial_files()
    no_models_init["my_submission/models/__init__.py"] = None
    no_get_layers = tutorial_files(**{"models/base_models.py": BASE_MODELS.replace("def get_layers", "def layers")})
    return {
        "no setup.py": (no_setup, "missing_file", "my_submission/setup.py"),
        "no models/__init__.py": (no_models_init, "missing_file", "my_submission/models/__init__.py"),
        "two root folders": ({**tutorial_files("one"), **tutorial_files("two")}, "root_folder", "one, two"),
        "no get_layers": (no_get_layers, "missing_function", "get_layers()"),
        "not a zip": (b"this is a text file", "not_a_zip", "not a zip"),
        "an empty file": (b"", "empty_file", "empty"),
    }


@pytest.mark.parametrize("case", list(broken_cases()))
def test_broken_layouts_get_422_naming_the_problem_and_leave_nothing(platform, tmp_path, case):
    content, code, named = broken_cases()[case]
    path = tmp_path / "upload.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_zip(path, content)
    before = residue(platform)
    response = upload(platform, path)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code
    assert named in detail["message"]
    assert all({"code", "message"} <= set(problem) for problem in detail["problems"])
    assert residue(platform) == before


def test_unknown_benchmark_is_422_listing_the_available_ones(platform, tmp_path):
    before = residue(platform)
    response = upload(platform, write_zip(tmp_path / "ok.zip", tutorial_files()), benchmarks="NoSuch.IT-pls")
    assert response.status_code == 422
    assert "NoSuch.IT-pls" in response.json()["detail"]["message"]
    assert "Synthetic2026.IT-pls" in response.json()["detail"]["message"]
    assert residue(platform) == before


def test_wrong_content_type_is_415(platform):
    with platform.client() as client:
        response = client.post("/submissions", content=b"PK\x03\x04", headers={"content-type": "application/zip"})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]["message"]


def test_unknown_submission_is_404(platform):
    with platform.client() as client:
        assert client.get("/submissions/nope").status_code == 404
        assert client.get("/submissions/nope/scores").status_code == 404


def test_every_response_carries_the_security_headers_once_and_docs_may_load_their_scripts(platform):
    with platform.client() as client:
        for path in ("/submissions/nope/scores", "/leaderboard", "/", "/static/leaderboard.css"):
            headers = client.get(path).headers
            assert headers.get_list("X-Frame-Options") == ["DENY"], path
            assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        docs = client.get("/docs").headers
        assert docs["X-Frame-Options"] == "DENY" and "Content-Security-Policy" not in docs


def test_scorer_routes_need_the_worker_token(platform):
    with platform.client() as client:
        assert client.post("/internal/jobs/claim", json={"worker_id": "intruder"}).status_code == 401


def test_accepted_upload_creates_one_job_per_model_and_benchmark(platform, tmp_path):
    response = upload(platform, write_zip(tmp_path / "ok.zip", tutorial_files()),
                      benchmarks="Synthetic2026.IT-pls", public="true")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["models"] == ["tiny"] and body["benchmarks"] == ["Synthetic2026.IT-pls"]
    assert len(body["id"]) >= 20
    with platform.client() as client:
        status = client.get(f"/submissions/{body['id']}").json()
        assert [(job["model"], job["benchmark"]) for job in status["jobs"]] == [("tiny", "Synthetic2026.IT-pls")]
        client.delete(f"/submissions/{body['id']}", headers={"X-Owner-Secret": body["owner_secret"]})
