"""Issue 14 in-process: the view query (search, card filters, subset, weights), CSV, as_of after a rescore,
benchmark JSON, comparisons and the queue, on database rows written as the queue writes them."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from submission_api.accounts.service import hash_token
from submission_api.core.config import ApiSettings
from submission_api.core.models import Job, ScoreRow, Submission, utcnow
from submission_api.leaderboard.service import View, aggregate_model, weighted_aggregate
from submission_api.main import create_app
from submission_api.submissions.service import rescore
from tests.submission_api.rows import IT, V1, add_submission

CARDS = {"alpha": {"architecture": "CNN", "training_data": "ImageNet"},
         "beta": {"architecture": "ViT", "training_data": "ImageNet"},
         "gamma": {"architecture": "CNN", "training_data": "Ecoset"}}

WORKER_TOKEN = "views-test-worker-token-0123456789"
OWNER_SECRET = "views-test-owner-secret-0123456789"


@pytest.fixture
def api(tmp_path):
    app = create_app(ApiSettings(var_dir=tmp_path, store_url="http://127.0.0.1:9", worker_token=WORKER_TOKEN,
                                 _env_file=None))
    earlier = utcnow() - timedelta(days=3)
    with app.state.sessionmaker() as session:
        # alpha is strong on V1, beta on IT, gamma middling on both.
        for model, v1, it in (("alpha", 0.9, 0.1), ("beta", 0.2, 0.7), ("gamma", 0.5, 0.45)):
            submission = add_submission(session, models=(model,), created_at=earlier,
                                        jobs=[(model, V1, "succeeded", None, v1), (model, IT, "succeeded", None, it)])
            submission.model_cards = {model: CARDS[model]}
        session.execute(ScoreRow.__table__.update().values(created_at=earlier))
        from submission_api.core.models import ScoreHistory
        session.execute(ScoreHistory.__table__.update().values(recorded_at=earlier))
        session.commit()
    with TestClient(app) as client:
        client.app_state = app.state
        yield client


def order(board: dict) -> list[str]:
    return [row["model"] for row in board["models"]]


def test_equal_weights_reproduce_aggregate_model():
    cells = {"a": {"kind": "neural", "region": "V1", "ceiled": 1.3, "raw": 1.0},
             "b": {"kind": "neural", "region": "IT", "ceiled": None, "raw": None},
             "c": {"kind": "behavior", "region": None, "ceiled": 0.4, "raw": 0.4}}
    columns = [{"identifier": name, "kind": cell["kind"], "region": cell["region"]} for name, cell in cells.items()]
    leaves = [{"benchmark": name, "kind": cell["kind"], "region": cell["region"], "value": cell["ceiled"]}
              for name, cell in cells.items()]
    assert weighted_aggregate(cells, columns, View()) == pytest.approx(aggregate_model(leaves))


def test_search_filters_subset_and_weights_change_the_ranking(api):
    board = api.get("/leaderboard").json()
    assert order(board) == ["alpha", "gamma", "beta"]
    assert board["models"][0]["metadata"] == CARDS["alpha"]
    assert order(api.get("/leaderboard", params={"q": "MM"}).json()) == ["gamma"]
    assert order(api.get("/leaderboard", params={"architecture": "cnn"}).json()) == ["alpha", "gamma"]
    assert order(api.get("/leaderboard", params={"training_data": "Ecoset"}).json()) == ["gamma"]
    only_it = api.get("/leaderboard", params={"benchmarks": "Bench.IT"}).json()
    assert order(only_it) == ["beta", "gamma", "alpha"]
    assert [column["identifier"] for column in only_it["benchmarks"]] == ["Bench.IT"]
    weighted = api.get("/leaderboard", params={"w": "Bench.IT:5"}).json()
    assert order(weighted) == ["beta", "gamma", "alpha"]
    # V1 weight 1, IT weight 5: neural = (1*V1 + 1*0 + 1*0 + 5*IT) / 8 with region weights 1, 1, 1, 5.
    beta = weighted["models"][0]["aggregate"]
    assert beta["neural"] == pytest.approx((0.2 + 5 * 0.7) / 8)
    assert api.get("/leaderboard", params={"w": "Bench.IT:-1"}).status_code == 422


def test_the_page_carries_the_view_and_grouped_headers(api):
    page = api.get("/", params={"w": "Bench.IT:5", "architecture": "CNN"})
    assert page.status_code == 200
    text = page.text
    assert 'data-group="neural"' in text and 'data-group="V1"' in text and 'href="/benchmarks/Bench.IT"' in text
    # All three models are in the page; beta, a ViT, is hidden by the filter, and gamma now leads.
    assert text.index('data-model="gamma"') < text.index('data-model="alpha"')
    assert 'data-model="beta"' in text and 'value="5"' in text
    assert "/leaderboard.csv?w=Bench.IT%3A5&amp;architecture=CNN" in text


def test_csv_has_raw_ceiling_ceiled_and_error_for_each_cell(api):
    response = api.get("/leaderboard.csv", params={"q": "a"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["model"] for row in rows] == ["alpha", "gamma", "beta"]
    assert float(rows[0]["Bench.V1:ceiled"]) == 0.9 and float(rows[0]["Bench.V1:ceiling"]) == 0.8
    assert float(rows[0]["Bench.V1:error"]) == 0.01 and float(rows[0]["Bench.V1:raw"]) == 0.9
    weighted = list(csv.DictReader(io.StringIO(api.get("/leaderboard.csv", params={"w": "Bench.IT:5"}).text)))
    assert [row["model"] for row in weighted] == ["beta", "gamma", "alpha"]


def test_as_of_returns_the_earlier_ranking_after_a_rescore(api):
    before = utcnow()
    factory = api.app_state.sessionmaker
    with factory() as session:
        submission = session.query(Submission).filter(Submission.models == ["beta"]).one()
        rescore(session, submission)
        for job in submission.jobs:
            job.status, job.started_at, job.finished_at = "succeeded", utcnow(), utcnow()
            session.add(ScoreRow(submission_id=submission.id, job_id=job.id, model="beta", benchmark=job.benchmark,
                                 benchmark_version=1, region=job.region, raw=1.0, ceiled=1.0, ceiling=0.8,
                                 error=0.01))
        submission.status = "completed"
        session.commit()
    assert order(api.get("/leaderboard").json()) == ["beta", "alpha", "gamma"]
    earlier = api.get("/leaderboard", params={"as_of": before.isoformat()}).json()
    assert order(earlier) == ["alpha", "gamma", "beta"]
    assert earlier["as_of"] is not None
    assert earlier["models"][2]["benchmarks"]["Bench.IT"]["ceiled"] == 0.7
    long_ago = api.get("/leaderboard", params={"as_of": (before - timedelta(days=10)).date().isoformat()}).json()
    assert long_ago["models"] == []
    assert api.get("/leaderboard", params={"as_of": "yesterday"}).status_code == 422
    assert "as of" in api.get("/", params={"as_of": before.date().isoformat()}).text


def test_benchmark_json_by_suffix_and_by_content_negotiation(api):
    detail = api.get("/benchmarks/Bench.IT.json").json()
    assert detail["identifier"] == "Bench.IT" and detail["region"] == "IT"
    assert sorted(detail["scores"]) == pytest.approx([0.1, 0.45, 0.7])
    assert sum(bin["count"] for bin in detail["histogram"]) == 3
    [correlation] = detail["correlations"]
    assert correlation["benchmark"] == "Bench.V1" and correlation["models"] == 3 and correlation["r"] < 0
    assert detail["versions"] == [{"version": 1, "models": 3}]
    negotiated = api.get("/benchmarks/Bench.IT", headers={"Accept": "application/json"})
    assert negotiated.headers["content-type"] == "application/json" and negotiated.json() == detail
    page = api.get("/benchmarks/Bench.IT", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and 'id="histogram"' in page.text
    assert api.get("/benchmarks/Nope.json").status_code == 404


def test_compare_two_to_four_models(api):
    result = api.get("/compare.json", params={"models": "alpha,beta"}).json()
    assert [model["model"] for model in result["models"]] == ["alpha", "beta"]
    assert result["models"][0]["benchmarks"]["Bench.V1"]["error"] == 0.01
    assert result["models"][0]["layer_scores"]["Bench.V1"] == {"conv1": 0.5, "conv2": 0.4}
    page = api.get("/compare", params={"models": "alpha,beta,gamma"})
    assert page.status_code == 200 and page.text.count('class="overlay-plot"') == 2
    assert api.get("/compare.json", params={"models": "alpha"}).status_code == 422
    assert api.get("/compare.json", params={"models": "alpha,nobody"}).status_code == 404


def test_queue_positions_and_eta(api):
    factory = api.app_state.sessionmaker
    with factory() as session:
        done = add_submission(session, models=("x",), jobs=[("x", IT, "succeeded", None, 0.5)])
        done.jobs[0].started_at = utcnow() - timedelta(seconds=40)
        done.jobs[0].finished_at = utcnow() - timedelta(seconds=10)
        first = add_submission(session, models=("m",), jobs=[("m", IT, "queued", None, None),
                                                             ("m", V1, "queued", None, None)])
        private = add_submission(session, public=False, models=("p",), jobs=[("p", IT, "queued", None, None)])
        session.commit()
        first_id, private_id = first.id, private.id
    queue = api.get("/queue").json()
    assert queue["waiting"] == 3 and queue["mean_job_seconds"] == pytest.approx(30, abs=1)
    places = {entry["submission_id"]: entry for entry in queue["submissions"]}
    assert places[first_id]["position"] == 1 and places[first_id]["queued"] == 2
    assert places[first_id]["eta_seconds"] == pytest.approx(60, abs=2)
    assert private_id not in places and queue["jobs"][2]["model"] is None
    mine = api.get("/queue", params={"submission": private_id}).json()
    [place] = [entry for entry in mine["submissions"] if entry["submission_id"] == private_id]
    assert place["position"] == 3 and place["jobs_ahead"] == 2
    assert "queue-submissions" in api.get("/queue", headers={"Accept": "text/html"}).text


def test_the_event_stream_sends_the_log_and_ends(api):
    factory = api.app_state.sessionmaker
    with factory() as session:
        submission = add_submission(session, models=("m",), jobs=[("m", IT, "succeeded", None, 0.5)])
        job = session.get(Job, submission.jobs[0].id)
        job.log = "[model] hello from the scorer\n"
        submission.owner_secret_hash = hash_token(OWNER_SECRET)  # an anonymous upload's, as the upload answered it
        session.commit()
        submission_id = submission.id
    with api.stream("GET", f"/submissions/{submission_id}/events", headers={"X-Owner-Secret": OWNER_SECRET}) as response:
        body = "".join(response.iter_text())
    assert "event: log" in body and "hello from the scorer" in body
    assert "event: status" in body and body.rstrip().endswith('data: {"status": "completed"}')
    page = api.get(f"/submissions/{submission_id}/page", headers={"X-Owner-Secret": OWNER_SECRET})
    assert page.status_code == 200 and 'id="live-log"' in page.text


def test_resource_usage_is_kept_shown_to_the_owner_and_summed_on_metrics(api):
    worker = {"Authorization": f"Bearer {WORKER_TOKEN}"}
    factory = api.app_state.sessionmaker
    with factory() as session:
        session.execute(Job.__table__.update().where(Job.status == "queued").values(status="cancelled"))
        submission = add_submission(session, models=("m",), jobs=[("m", IT, "queued", None, None)])
        submission.owner_secret_hash = hash_token(OWNER_SECRET)
        session.commit()
        submission_id = submission.id
    owner = {"X-Owner-Secret": OWNER_SECRET}
    lease = api.post("/internal/jobs/claim", json={"worker_id": "w"}, headers=worker).json()
    score = {"raw": 0.5, "error": 0.01, "ceiling": 0.8, "ceiling_error": 0.02, "ceiled": 0.6, "convention": "x",
             "layer": "conv1", "region": "IT"}
    usage = {"wall_seconds": 12.5, "cpu_seconds": 30.25, "peak_memory_bytes": 300 << 20, "cache_hit": False}
    measured = {"layer_count": 2, "activation_sizes": {"conv1": 256, "conv2": 64}, "parameter_count": 1234}
    api.post(f"/internal/jobs/{lease['job_id']}/complete", headers=worker,
             json={"lease_token": lease["lease_token"], "score": score, "usage": {**usage, **measured}}
             ).raise_for_status()
    [row] = [row for row in api.get("/leaderboard").json()["models"] if row["submission_id"] == submission_id]
    assert row["metadata"] == measured
    [job] = api.get(f"/submissions/{submission_id}/usage", headers=owner).json()["jobs"]
    assert job == {"id": lease["job_id"], "model": "m", "benchmark": "Bench.IT", "status": "succeeded",
                   "attempts": 1, **usage}
    page = api.get(f"/submissions/{submission_id}/page", headers=owner).text
    assert "30.2" in page and "300 MiB" in page and "miss" in page
    metrics = api.get("/metrics").text
    assert 'cortexscore_job_usage{measure="cpu_seconds"} 30.25' in metrics
    assert 'cortexscore_job_usage{measure="cache_misses"} 1.0' in metrics
