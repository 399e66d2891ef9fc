"""The store's catalogue and objects over a real socket."""
import hashlib

import httpx


def test_synthetic_benchmark_is_served_with_checksums_and_a_ceiling_below_one(platform):
    with httpx.Client(base_url=platform.store_url) as client:
        specs = client.get("/benchmarks").json()
        synthetic = next(spec for spec in specs if spec["identifier"] == "Synthetic2026.IT-pls")
        assert synthetic["synthetic"] and not synthetic["leaderboard"]
        assert 0.5 < synthetic["ceiling"]["value"] < 1
        for ref in (synthetic["stimulus_set"], synthetic["assembly"]):
            for file in ref["files"].values():
                body = client.get(f"/objects/{file['key']}").content
                assert hashlib.sha256(body).hexdigest() == file["sha256"]


def test_api_lists_the_catalogue(platform):
    with platform.client() as client:
        benchmarks = client.get("/benchmarks").json()
    entry = next(b for b in benchmarks if b["identifier"] == "Synthetic2026.IT-pls")
    assert entry["num_stimuli"] == 400 and entry["region"] == "IT" and entry["visual_degrees"] == 8
