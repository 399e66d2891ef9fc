"""Ingest of the pinned datasets from the mirror (``../shared/data``) into a real store."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from cortexscore.benchmarks.spec import BenchmarkSpec
from cortexscore.data import load_assembly
from cortexscore.ingest import DEFAULT_MIRROR, IngestError, ingest_all, ingest_dataset, run_ingest_command
from cortexscore.ingest.builders import build_bashivan, stratified_split
from cortexscore.ingest.catalog import catalog_key
from cortexscore.ingest.manifest import BASHIVAN, COGGAN, DATASETS, KRIEGESKORTE, dataset_files, verify_dataset
from cortexscore.storage import ChecksumMismatch, FilesystemStore, fetch_verified

needs_mirror = pytest.mark.skipif(not DEFAULT_MIRROR.is_dir(), reason=f"the data mirror {DEFAULT_MIRROR} is absent")

EXPECTED = {
    "Kriegeskorte2008.IT-rdm": 92, "Kriegeskorte2008human.IT-rdm": 92,
    "Coggan2024fMRI.V1-rdm": 24, "Coggan2024fMRI.V2-rdm": 24, "Coggan2024fMRI.V4-rdm": 24, "Coggan2024fMRI.IT-rdm": 24,
    "Bashivan2019.V4-pls": 640, "Allen2016mouse.V1-pls": 118,
    "Geirhos2021cueconflict-error_consistency": 1280, "Geirhos2021edge-error_consistency": 160,
    "Geirhos2021silhouette-error_consistency": 160,
}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> tuple[FilesystemStore, list[BenchmarkSpec], list[str]]:
    if not DEFAULT_MIRROR.is_dir():
        pytest.skip(f"the data mirror {DEFAULT_MIRROR} is absent")
    store = FilesystemStore(tmp_path_factory.mktemp("store"))
    lines: list[str] = []
    return store, ingest_all(store, DEFAULT_MIRROR, lines.append), lines


def test_every_pinned_benchmark_is_registered_with_a_ceiling_in_0_1(ingested):
    _, specs, _ = ingested
    assert {spec.identifier: spec.num_stimuli for spec in specs} == EXPECTED
    for spec in specs:
        assert 0 < spec.ceiling.value <= 1, spec.identifier
        assert spec.source["sources"][0]["commit"] and spec.source["licence"] and spec.citation
        assert not spec.synthetic


def test_mouse_v1_stays_out_of_the_primate_leaderboard(ingested):
    allen = next(spec for spec in ingested[1] if spec.identifier == "Allen2016mouse.V1-pls")
    assert allen.region == "mouseV1" and not allen.leaderboard
    # Its single trials show no split-half reliability, so the ceiling is stated as absent, with the measurement.
    assert allen.ceiling.method == "none" and abs(allen.ceiling.attrs["measured_internal_consistency"]) < 0.1


def test_every_stored_file_matches_its_catalogue_checksum(ingested, tmp_path):
    store, specs, _ = ingested
    for spec in specs:
        for ref in (spec.stimulus_set, spec.assembly):
            for file in ref.files.values():
                fetch_verified(store, file.key, file.sha256, tmp_path / file.sha256)
    bashivan = next(spec for spec in specs if spec.identifier == "Bashivan2019.V4-pls")
    assert bashivan.assembly.access == "private" and bashivan.assembly.files["netcdf"].key.startswith("private/")
    assembly = load_assembly(tmp_path / bashivan.assembly.files["netcdf"].sha256)
    assert assembly.sizes == {"presentation": 6400, "neuroid": 50}
    assert 0.2 < float(np.isnan(assembly.values).mean()) < 0.3  # the missing repeats stay NaN


def test_a_second_ingest_skips_everything_and_changes_nothing(ingested):
    store, specs, _ = ingested
    documents = {spec.identifier: (store.root / catalog_key(spec.identifier, spec.version)).read_bytes()
                 for spec in specs}
    lines: list[str] = []
    again = ingest_all(store, DEFAULT_MIRROR, lines.append)
    assert [spec.identifier for spec in again] == [spec.identifier for spec in specs]
    assert all("already ingested" in line for line in lines) and len(lines) == len(DATASETS)
    assert documents == {spec.identifier: (store.root / catalog_key(spec.identifier, spec.version)).read_bytes()
                         for spec in specs}


def test_a_missing_dataset_is_one_line_naming_where_to_get_it(tmp_path):
    lines: list[str] = []
    assert ingest_all(FilesystemStore(tmp_path / "store"), tmp_path / "empty-mirror", lines.append) == []
    assert len(lines) == len(DATASETS)
    for line, dataset in zip(lines, DATASETS):
        assert line.startswith(f"skipping {dataset.name}:") and "https://github.com/" + dataset.sources[0].repository in line


@needs_mirror
def test_a_corrupt_mirror_file_is_refused_before_anything_is_stored(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(DEFAULT_MIRROR / COGGAN.folder, mirror / COGGAN.folder)
    pickled = mirror / COGGAN.folder / "dataset.pkl"
    pickled.chmod(0o644)
    pickled.write_bytes(pickled.read_bytes()[:-1] + b"\0")
    store = FilesystemStore(tmp_path / "store")
    with pytest.raises(ChecksumMismatch, match="dataset.pkl.*github.com/brain-score/vision"):
        ingest_dataset(store, mirror, COGGAN, print)
    assert store.keys() == []
    # Next to a good dataset: the good one is ingested, the bad one named, and the command fails.
    (mirror / KRIEGESKORTE.folder).symlink_to(DEFAULT_MIRROR / KRIEGESKORTE.folder)
    lines: list[str] = []
    with pytest.raises(IngestError, match="1 dataset.*dataset.pkl"):
        ingest_all(store, mirror, lines.append)
    assert [key.split("/")[1] for key in store.keys("catalog/")] == ["Kriegeskorte2008.IT-rdm",
                                                                    "Kriegeskorte2008human.IT-rdm"]
    assert any(line.startswith("failed Coggan2024: ") for line in lines)
    assert run_ingest_command(mirror, str(tmp_path / "store")) == 1


@needs_mirror
def test_every_pinned_file_of_the_mirror_verifies():
    for dataset in DATASETS:
        assert verify_dataset(DEFAULT_MIRROR, dataset) == DEFAULT_MIRROR / dataset.folder
    assert sum(len(dataset_files(dataset)) for dataset in DATASETS) == 1671


@needs_mirror
def test_the_bashivan_split_is_deterministic_and_stratified(tmp_path):
    first = build_bashivan(DEFAULT_MIRROR / BASHIVAN.folder, tmp_path / "a")[0].table
    second = build_bashivan(DEFAULT_MIRROR / BASHIVAN.folder, tmp_path / "b")[0].table
    assert (first["split"] == second["split"]).all()
    public_share = (first["split"] == "public").groupby(first["response_quintile"]).mean()
    assert np.allclose(public_share, 0.3, atol=0.01)
    assert abs((first["split"] == "public").sum() - 0.3 * 640) <= 3


def test_stratified_split_rejects_fractions_outside_0_1():
    with pytest.raises(ValueError, match=r"public_fraction must lie in \(0, 1\)"):
        stratified_split(["a", "b"], 1.0)


@needs_mirror
def test_two_processes_ingesting_at_once_both_succeed_with_one_catalogue(tmp_path):
    store_dir = tmp_path / "store"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / COGGAN.folder).symlink_to(DEFAULT_MIRROR / COGGAN.folder)
    command = [sys.executable, "-c", "import sys; from cortexscore.ingest import run_ingest_command; "
               f"sys.exit(run_ingest_command({str(mirror)!r}, {str(store_dir)!r}))"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    store = FilesystemStore(store_dir)
    assert len(store.keys("catalog/")) == 4
    assert run_ingest_command(mirror, str(store_dir)) == 0
