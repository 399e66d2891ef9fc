"""The pinned public datasets: where each comes from, under which licence, and the sha256 of every file.

A mirror folder (``../shared/data`` on the project machines) stands in for the
source URLs. Each file is hashed and compared with the checksum recorded here
before anything reads it, exactly as if it had just been downloaded.

The per-file sha256s live in ``checksums.sha256`` next to this module, taken
from the mirror's ``SHA256SUMS`` when this code was written; that file's own
sha256 is pinned in :data:`CHECKSUMS_SHA256`, so an edited list is caught too.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cortexscore.storage import ChecksumMismatch, sha256_file

CHECKSUMS_FILE = Path(__file__).with_name("checksums.sha256")
CHECKSUMS_SHA256 = "25cbb7edd24ebb4294a56fa639241a7702ec7336d59454e99ebaaeb0d8bee872"


@dataclass(frozen=True)
class Source:
    """One pinned public source: a repository at a commit, and a path inside it."""

    repository: str
    commit: str
    path: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/tree/{self.commit}/{self.path}"


@dataclass(frozen=True)
class Dataset:
    """A dataset of the mirror: its folder, its sources, licence and citation."""

    name: str
    folder: str
    sources: tuple[Source, ...]
    licence: str
    citation: str
    # A bump re-ingests the dataset's benchmarks as new catalogue versions.
    version: int = 1

    @property
    def urls(self) -> str:
        return " and ".join(source.url for source in self.sources)

    def provenance(self) -> dict:
        return {"dataset": self.name, "licence": self.licence, "citation": self.citation,
                "sources": [{"repository": source.repository, "commit": source.commit, "path": source.path,
                             "url": source.url} for source in self.sources]}


GEIRHOS = Dataset(
    name="Geirhos2021", folder="geirhos2021",
    sources=(
        Source("rgeirhos/texture-vs-shape", "ccd0c01d42c0a8a834e90ec141e7f24fa915dc23",
               "stimuli/{style-transfer-preprocessed-512,edges,filled-silhouettes}"),
        Source("bethgelab/model-vs-human", "79ed7cd1d9ac3a114e71b6638f0a98bdd627316c",
               "raw-data/{cue-conflict,edge,silhouette}"),
    ),
    licence="stimuli CC-BY-4.0; code MIT",
    citation="Geirhos et al. 2019, ICLR, ImageNet-trained CNNs are biased towards texture; Geirhos et al. 2021, "
             "NeurIPS, Partial success in closing the gap between human and machine vision",
)
KRIEGESKORTE = Dataset(
    name="Kriegeskorte2008", folder="kriegeskorte2008",
    sources=(Source("rsagroup/rsatoolbox", "f1f83cadb7243492a1aae7460466e0f0140b20ac", "demos/92imageData"),),
    licence="MIT",
    citation="Kriegeskorte et al. 2008, Neuron, Matching categorical object representations in inferior temporal "
             "cortex of man and monkey",
    # v2: one layer per region, chosen on commitment data disjoint from the scored stimuli (issue 12).
    version=2,
)
BASHIVAN = Dataset(
    name="Bashivan2019", folder="bashivan2019_v4",
    sources=(Source("cowleygroup/V4_compact_models", "f4552ad9d34a466ebc66658f72a08a8e5038f1cf",
                    "data_V4_responses"),),
    licence="GPL-3.0",
    citation="Bashivan, Kar & DiCarlo 2019, Science, Neural population control via deep image synthesis; "
             "Cowley et al. 2023, Compact deep neural network models of visual cortex",
    # v2: one layer per region, chosen on commitment data disjoint from the scored stimuli (issue 12).
    version=2,
)
COGGAN = Dataset(
    name="Coggan2024", folder="coggan2024",
    sources=(Source("brain-score/vision", "c019c8039afbfa83f46c4a8d942c48662b432f96",
                    "brainscore_vision/data/coggan2024_fMRI"),),
    licence="MIT",
    citation="Coggan & Tong 2024, Spikiness and animacy as potential organizing principles of human ventral visual "
             "cortex (Brain-Score Coggan2024_fMRI)",
    # v2: one layer per region, chosen on commitment data disjoint from the scored stimuli (issue 12).
    version=2,
)
ALLEN = Dataset(
    name="Allen2016", folder="allen2016_v1",
    sources=(Source("psailamul/Allen_Brain_Observatory", "44c5e0bb3342ef20611a320ef9d023c9620d8acb",
                    "Allen_data_170513"),),
    licence="Allen Institute terms of use (cite the Allen Brain Observatory)",
    citation="de Vries et al. 2020, Nature Neuroscience, A large-scale standardized physiological survey reveals "
             "functional organization of the mouse visual cortex (Allen Brain Observatory)",
    # v2: one layer per region, chosen on commitment data disjoint from the scored stimuli (issue 12).
    version=2,
)

DATASETS: tuple[Dataset, ...] = (KRIEGESKORTE, COGGAN, BASHIVAN, ALLEN, GEIRHOS)


@lru_cache
def pinned_checksums() -> dict[str, str]:
    """Mirror-relative path -> sha256 for every pinned file, after checking the list itself."""
    actual = sha256_file(CHECKSUMS_FILE)
    if actual != CHECKSUMS_SHA256:
        raise ChecksumMismatch(f"{CHECKSUMS_FILE} hashes to {actual}, not the pinned {CHECKSUMS_SHA256}; "
                               "the checksum list was edited")
    pairs = (line.split(maxsplit=1) for line in CHECKSUMS_FILE.read_text().splitlines() if line.strip())
    return {path.strip(): digest for digest, path in pairs}


def dataset_files(dataset: Dataset) -> dict[str, str]:
    """The pinned files of ``dataset``: path relative to its folder -> sha256.

    >>> len(dataset_files(COGGAN)), dataset_files(COGGAN)["dataset.pkl"][:12]
    (27, '1d4a55d3434d')
    """
    prefix = f"{dataset.folder}/"
    return {path.removeprefix(prefix): digest for path, digest in pinned_checksums().items()
            if path.startswith(prefix)}


def verify_dataset(mirror: Path, dataset: Dataset) -> Path:
    """Check every pinned file of ``dataset`` in ``mirror`` against its sha256 and return the dataset's folder.

    Raises FileNotFoundError naming the missing files, or ChecksumMismatch
    naming the first corrupt one.
    """
    folder = Path(mirror) / dataset.folder
    files = dataset_files(dataset)
    missing = sorted(name for name in files if not (folder / name).is_file())
    if missing:
        raise FileNotFoundError(f"{dataset.name}: {len(missing)} pinned files are missing from {folder}, e.g. "
                                f"{missing[:3]}; get them from {dataset.urls}")
    for name, expected in files.items():
        actual = sha256_file(folder / name)
        if actual != expected:
            raise ChecksumMismatch(f"{dataset.name}: {folder / name} hashes to {actual}, but the pinned sha256 is "
                                   f"{expected}; download it again from {dataset.urls}")
    return folder
