"""Issue 16: a layer of 2,000,000 features on 640 stimuli (5 GB of float32) scores in bounded memory.

The child writes the layer a batch at a time, the scorer copies it a row at a time, and the metrics read it
from disk in blocks: the scorer and the model's processes each stay far below the layer's size.
"""
import re
import shutil
from pathlib import Path

import pytest

from cortexscore.benchmarks import synthetic
from tests.conftest import start_platform
from tests.scorer.test_sandbox_attacks import scorer_pids
from tests.zips import tutorial_files, wide_model_source, write_zip

N_FEATURES = 2_000_000
N_STIMULI = 640
BENCHMARK = synthetic.names(N_STIMULI)[0]
LIMIT_MIB = 2048


def peak_resident_mib(pid: int) -> int:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmHWM"].split()[0]) >> 10


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_layer_of_two_million_features_scores_with_scorer_and_child_under_2_gb(tmp_path_factory, tmp_path):
    var = tmp_path_factory.mktemp("wide")
    platform = start_platform(var / "var", STORE_SYNTHETIC_STIMULI=str(N_STIMULI),
                              SCORER_SANDBOX_DIR=str(var / "sandbox"))
    try:
        path = write_zip(tmp_path / "wide.zip",
                         tutorial_files(root="wide", **{"models/base_models.py": wide_model_source("wide", N_FEATURES)}))
        with platform.client() as client, open(path, "rb") as handle:
            created = client.post("/submissions", files={"file": handle}, data={"benchmarks": BENCHMARK}).json()
        body = platform.wait_for(created["id"], timeout=1500)
        with platform.client() as client:
            log = client.get(f"/submissions/{created['id']}/logs",
                             headers={"X-Owner-Secret": created["owner_secret"]}).json()["log"]
        [score] = body["scores"]
        assert score["status"] == "succeeded", (score, log[-4000:])
        assert score["layer"] == "wide" and score["provenance"]["device"] == "cpu"
        assert score["provenance"]["scoring_stimuli"] == N_STIMULI * 3 // 4
        child = re.search(r"\[model\] peak resident memory (\d+) MiB", log)
        assert child and int(child.group(1)) < LIMIT_MIB, log[-4000:]
        # The job's cgroup, where the sandbox has one: the model's processes and the page cache they dirtied.
        cgroup = re.search(r"peak memory of the model's processes: (\d+) MiB", log)
        assert cgroup is None or int(cgroup.group(1)) < LIMIT_MIB, log[-4000:]
        [scorer_pid] = scorer_pids(platform)
        assert peak_resident_mib(scorer_pid) < LIMIT_MIB
        # The 5 GB entry is larger than the whole activations cache: nothing of it stays on disk.
        assert sum(entry.stat().st_size for entry in platform.var.rglob("*.npz")) < 1 << 30
        assert [path for path in (var / "sandbox").rglob("*") if path.parent != var / "sandbox"] == []
    finally:
        platform.stop()
        shutil.rmtree(var, ignore_errors=True)
