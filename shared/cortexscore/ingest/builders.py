"""One builder per dataset: read the verified mirror files and package them as benchmarks.

Each builder returns :class:`Packaged` benchmarks (a stimulus table and its
images, an assembly, the catalogue fields and the ceiling, computed here once
per benchmark version). :mod:`cortexscore.ingest` stores and registers them.
"""
from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image

from cortexscore.benchmarks.coggan import coggan_ceiling, nested_ceiling
from cortexscore.benchmarks.rsa import matrix_assembly, rdm_subjects_ceiling, restrict_matrices
from cortexscore.ceilings import load_ceiling
from cortexscore.ingest.manifest import ALLEN, BASHIVAN, COGGAN, GEIRHOS, KRIEGESKORTE, Dataset
from cortexscore.score import Score

SPLIT_SEED = 2026


@dataclass
class Packaged:
    """One benchmark ready to store: its stimuli, its assembly, its catalogue fields and its ceiling."""

    fields: dict
    stimulus_set_identifier: str
    table: pd.DataFrame
    image_dir: Path
    assembly: xr.DataArray
    ceiling: Score
    assembly_access: str = "public"
    # With a private assembly: its public split's presentations, stored public (local scoring, commitment).
    public_assembly: xr.DataArray | None = None


def stratified_split(labels, public_fraction: float, seed: int = SPLIT_SEED) -> np.ndarray:
    """Deterministic 'public' / 'private' labels: ``public_fraction`` of every stratum (rounded) is public.

    Examples
    --------
    >>> split = stratified_split(["a"] * 10 + ["b"] * 20, 0.3)
    >>> int((split[:10] == "public").sum()), int((split[10:] == "public").sum())
    (3, 6)
    """
    labels = np.asarray(labels)
    if not 0 < public_fraction < 1:
        raise ValueError(f"public_fraction must lie in (0, 1), got {public_fraction}")
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), "private", dtype=object)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        split[members[:int(round(public_fraction * len(members)))]] = "public"
    return split.astype(str)


def quantile_strata(values: np.ndarray, bins: int = 5) -> np.ndarray:
    """Quantile bin (0 .. bins-1) of each value, to stratify on a continuous measure.

    >>> quantile_strata(np.arange(10.), bins=2).tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def _save_images(arrays, names: list[str], image_dir: Path, mode: str) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    for array, name in zip(arrays, names):
        Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(image_dir / name)


def _provenance(dataset: Dataset, **details) -> dict:
    return {**dataset.provenance(), **details}


# --- Kriegeskorte 2008 -------------------------------------------------------------------------------------------

def build_kriegeskorte(folder: Path, work: Path) -> list[Packaged]:
    """Monkey IT (one population RDM) and human IT (4 subjects x 2 sessions) RDMs on the 92 images."""
    import scipy.io
    from scipy.spatial.distance import squareform

    supplement = scipy.io.loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat")
    stimuli = supplement["stimuli_92objs"][0]
    ids = [f"image{index:02d}" for index in range(1, len(stimuli) + 1)]
    image_dir = work / "kriegeskorte2008"
    _save_images([entry["image"] for entry in stimuli], [f"{stimulus_id}.png" for stimulus_id in ids], image_dir, "RGB")
    table = pd.DataFrame({
        "stimulus_id": ids, "filename": [f"{stimulus_id}.png" for stimulus_id in ids],
        "category": [str(np.asarray(entry["category"]).ravel()[0]) for entry in stimuli],
        **{flag: [int(np.asarray(entry[flag]).ravel()[0]) for entry in stimuli]
           for flag in ("human", "face", "animal", "natural")},
    })
    # Half of each category is the IT region's commitment data; the other half gives the scores.
    table["split"] = stratified_split(table["category"], public_fraction=0.5)
    private = table["stimulus_id"][table["split"] == "private"].to_numpy()
    brain = scipy.io.loadmat(folder / "92_brainRDMs.mat")["RDMs"][0]  # (4 subjects, 2 sessions)
    human_rdms = np.stack([np.asarray(brain[subject, session]["RDM"], dtype=np.float64)
                           for subject in range(brain.shape[0]) for session in range(brain.shape[1])])
    subjects = [str(np.asarray(brain[subject, 0]["name"]).ravel()[0]).split("|")[1].strip()
                for subject in range(brain.shape[0]) for _ in range(brain.shape[1])]
    sessions = [session + 1 for _ in range(brain.shape[0]) for session in range(brain.shape[1])]
    human = matrix_assembly(human_rdms, ids, subjects, sessions, identifier="Kriegeskorte2008human.IT",
                            stimulus_set_identifier="Kriegeskorte2008", kind="rdm")
    monkey_entry = supplement["RDMs_mIT_hIT_fig1"][0][0]
    monkey_rdm = squareform(np.asarray(monkey_entry["RDM"], dtype=np.float64).ravel(), checks=False)
    monkey = matrix_assembly(monkey_rdm[None], ids, ["mIT_674neurons"], [1], identifier="Kriegeskorte2008.IT",
                             stimulus_set_identifier="Kriegeskorte2008", kind="rdm")
    human_ceiling = rdm_subjects_ceiling(restrict_matrices(human, private))
    monkey_ceiling = Score(human_ceiling.value, human_ceiling.error, human_ceiling.per_split, {
        **human_ceiling.attrs, "note": "the monkey data is one population RDM with no per-animal or per-session "
        "split; the human IT between-subject ceiling (4 subjects x 2 sessions, private stimuli) stands in"})
    common = dict(kind="neural", region="IT", scoring="rsa_matrices", metric="rdm", ceiling_method="rdm_subjects",
                  convention="r_over_ceiling",
                  # 85%, not 90%: each split's left-out stimuli must hold one of each of the 6 categories of the
                  # 46 private stimuli (stratified), and 10% of 46 leaves only 5.
                  metric_options={"stratification_coord": "category", "test_size": 0.85},
                  num_stimuli=len(ids), citation=KRIEGESKORTE.citation)
    return [
        Packaged(dict(common, identifier="Kriegeskorte2008.IT-rdm", visual_degrees=2.9, source=_provenance(
            KRIEGESKORTE, files=["Kriegeskorte_Neuron2008_supplementalData.mat"], target="RDMs_mIT_hIT_fig1[0]",
            visual_degrees_note="the human study's 2.9 degrees; the mirror does not record the monkey's",
            split=f"stratified on category, 50% public (the IT region's commitment data), seed {SPLIT_SEED}"),
            commits_region=True), "Kriegeskorte2008", table, image_dir, monkey, monkey_ceiling),
        Packaged(dict(common, identifier="Kriegeskorte2008human.IT-rdm", visual_degrees=2.9, source=_provenance(
            KRIEGESKORTE, files=["92_brainRDMs.mat", "Kriegeskorte_Neuron2008_supplementalData.mat"],
            split=f"stratified on category, 50% public, seed {SPLIT_SEED}")),
            "Kriegeskorte2008", table, image_dir, human, human_ceiling),
    ]


# --- Coggan 2024 -------------------------------------------------------------------------------------------------

COGGAN_REGIONS = ("V1", "V2", "V4", "IT")


def build_coggan(folder: Path, work: Path) -> list[Packaged]:
    """Four regions' 24 x 24 subject RSMs (9 subjects) on the 24 occlusion images."""
    names = sorted(path.name for path in (folder / "stimuli").glob("*.png"))
    ids = [Path(name).stem for name in names]
    table = pd.DataFrame({"stimulus_id": ids, "filename": names,
                          "object_name": [stimulus_id.split("_")[0] for stimulus_id in ids],
                          "occlusion": [stimulus_id.split("_")[1] for stimulus_id in ids]})
    with open(folder / "dataset.pkl", "rb") as handle:
        # The pinned sha256 of dataset.pkl was verified before this load.
        dataset = pickle.load(handle)
    packaged = []
    for region in COGGAN_REGIONS:
        subjects = sorted(dataset[region])
        assembly = matrix_assembly(np.stack([np.asarray(dataset[region][subject]) for subject in subjects]), ids,
                                   subjects, [1] * len(subjects), identifier=f"Coggan2024fMRI.{region}",
                                   stimulus_set_identifier="Coggan2024fMRI", kind="rsm")
        # V1 and V2 have no other primate data to commit a layer on: it is chosen inside the cross-validation.
        nested = region in ("V1", "V2")
        fields = dict(identifier=f"Coggan2024fMRI.{region}-rdm", kind="neural", region=region, scoring="coggan_rsa",
                      layer_selection="nested_cv" if nested else "region",
                      metric="rsm_pearson_offdiagonal", ceiling_method="leave_one_subject_out",
                      convention="legacy_r_over_ceiling_squared", visual_degrees=9.0, time_bins=[(0, 250)],
                      num_stimuli=len(ids), citation=COGGAN.citation,
                      source=_provenance(COGGAN, files=["dataset.pkl", "stimuli/*.png"], subjects=len(subjects)))
        packaged.append(Packaged(fields, "Coggan2024fMRI", table, folder / "stimuli", assembly,
                                 nested_ceiling(assembly) if nested else coggan_ceiling(assembly)))
    return packaged


# --- Bashivan 2019 -----------------------------------------------------------------------------------------------

BASHIVAN_SESSION = "210325"


def build_bashivan(folder: Path, work: Path) -> list[Packaged]:
    """Session 210325: 50 V4 neurons x 640 images x 10 repeats (NaN where a repeat is missing)."""
    image_dir = work / "bashivan2019"
    with zipfile.ZipFile(folder / f"images_{BASHIVAN_SESSION}.zip") as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".jpg"))
        archive.extractall(image_dir, members=names)
    trials = np.load(folder / f"responses_{BASHIVAN_SESSION}_single_trials.npy")  # (neurons, images, repeats)
    neurons, images, repeats = trials.shape
    if images != len(names):
        raise ValueError(f"Bashivan2019: {images} response columns but {len(names)} images in the zip")
    ids = [Path(name).stem for name in names]
    averaged = np.load(folder / f"responses_{BASHIVAN_SESSION}_repeat_averaged.npy")
    # Stratify on the population response, so both halves span weak to strong drive.
    table = pd.DataFrame({"stimulus_id": ids, "filename": names,
                          "response_quintile": quantile_strata(averaged.mean(axis=0))})
    table["split"] = stratified_split(table["response_quintile"], public_fraction=0.3)
    values = trials.transpose(2, 1, 0).reshape(repeats * images, neurons)  # repeat-major presentations
    assembly = xr.DataArray(values.astype(np.float32), dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", np.tile(ids, repeats)),
        "repetition": ("presentation", np.repeat(np.arange(repeats), images)),
        "neuroid_id": ("neuroid", [f"Bashivan2019.{BASHIVAN_SESSION}.{index}" for index in range(neurons)]),
        "region": ("neuroid", ["V4"] * neurons),
        "session": ("neuroid", [BASHIVAN_SESSION] * neurons),
    }, attrs={"identifier": "Bashivan2019.V4", "stimulus_set_identifier": "Bashivan2019.210325",
              "missing_trials": "NaN"})
    private = table["stimulus_id"][table["split"] == "private"].to_numpy()
    ceiling = load_ceiling("internal_consistency")(
        assembly.isel(presentation=np.isin(assembly["stimulus_id"].values, private)))
    ceiling.attrs["method"] = "internal_consistency"
    public = table["stimulus_id"][table["split"] == "public"].to_numpy()
    public_assembly = assembly.isel(presentation=np.isin(assembly["stimulus_id"].values, public))
    fields = dict(identifier="Bashivan2019.V4-pls", kind="neural", region="V4", scoring="neural_predictivity",
                  commits_region=True,
                  metric="pls", ceiling_method="internal_consistency", convention="r2_over_ceiling",
                  visual_degrees=8.0, num_stimuli=len(ids), citation=BASHIVAN.citation,
                  source=_provenance(BASHIVAN, files=[f"images_{BASHIVAN_SESSION}.zip",
                                                      f"responses_{BASHIVAN_SESSION}_single_trials.npy"],
                                     session=BASHIVAN_SESSION, split="stratified on population-response quintile, "
                                     f"30% public, seed {SPLIT_SEED}",
                                     visual_degrees_note="8 degrees assumed; the mirror does not record it"))
    return [Packaged(fields, "Bashivan2019.210325", table, image_dir, assembly, ceiling, assembly_access="private",
                     public_assembly=public_assembly)]


# --- Allen Brain Observatory (mouse V1) --------------------------------------------------------------------------

ALLEN_SIDE = 31


def build_allen(folder: Path, work: Path) -> list[Packaged]:
    """118 natural scenes (31 x 31 grey) and the trial-averaged responses of 212 mouse V1 neurons."""
    scenes = np.load(folder / "all_input_scenes_118_961.npy")
    ids = [f"scene{index:03d}" for index in range(len(scenes))]
    image_dir = work / "allen2016"
    _save_images(scenes.reshape(-1, ALLEN_SIDE, ALLEN_SIDE).round(), [f"{i}.png" for i in ids], image_dir, "L")
    responses = np.full((len(scenes), 212), np.nan)
    part_of = np.full(len(scenes), "", dtype=object)
    for part in ("train", "test"):
        inputs = np.load(folder / f"Allen_{part}_input.npy")
        outputs = np.load(folder / f"Allen_{part}_output.npy")
        # Each input row is one of the 118 scenes; match it to find the scene's index.
        matches = (inputs[:, None, :] == scenes[None, :, :]).all(axis=2)
        if (matches.sum(axis=1) != 1).any():
            raise ValueError(f"Allen2016: some {part} inputs match no scene, or several")
        responses[matches.argmax(axis=1)] = outputs
        part_of[matches.argmax(axis=1)] = part
    if np.isnan(responses).any():
        raise ValueError("Allen2016: the train and test inputs do not cover all 118 scenes")
    table = pd.DataFrame({"stimulus_id": ids, "filename": [f"{i}.png" for i in ids], "source_part": part_of})
    table["split"] = stratified_split(table["source_part"], public_fraction=0.5)
    neurons = responses.shape[1]
    assembly = xr.DataArray(responses.astype(np.float32), dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", ids), "repetition": ("presentation", np.zeros(len(ids), dtype=int)),
        "neuroid_id": ("neuroid", [f"Allen2016.V1.{index}" for index in range(neurons)]),
        "region": ("neuroid", ["mouseV1"] * neurons),
    }, attrs={"identifier": "Allen2016mouse.V1", "stimulus_set_identifier": "Allen2016.scenes118",
              "responses": "trial-averaged"})
    ceiling = allen_ceiling(np.load(folder / "Allen_test_output_big.npy"))
    public_assembly = assembly.isel(presentation=(table["split"] == "public").to_numpy())
    fields = dict(identifier="Allen2016mouse.V1-pls", kind="neural", region="mouseV1", leaderboard=False,
                  commits_region=True,
                  scoring="neural_predictivity", metric="pls", ceiling_method=ceiling.attrs["method"],
                  convention="r2_over_ceiling", visual_degrees=8.0, num_stimuli=len(ids), citation=ALLEN.citation,
                  source=_provenance(ALLEN, files=["all_input_scenes_118_961.npy", "Allen_train_*.npy",
                                                   "Allen_test_*.npy"],
                                     split=f"stratified on the source's train/test part, 50% public, seed {SPLIT_SEED}",
                                     visual_degrees_note="8 degrees (no rescaling): the scenes were shown "
                                     "full-field to mice, which has no primate equivalent"))
    return [Packaged(fields, "Allen2016.scenes118", table, image_dir, assembly, ceiling, assembly_access="private",
                     public_assembly=public_assembly)]


def allen_ceiling(single_trials: np.ndarray) -> Score:
    """Split-half consistency of the 900 test trials, read as 18 scenes x 50 trials (the mirror README's layout).

    In the pinned files these trials carry no stimulus-locked signal under that
    layout (the split-half consistency is about 0), so no reliability can be
    measured; the ceiling is then 1 (``method='none'``, i.e. unceiled) and the
    measured value is kept in ``attrs``.
    """
    scenes, trials = 18, single_trials.shape[0] // 18
    assembly = xr.DataArray(single_trials, dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", np.repeat([f"test{i:02d}" for i in range(scenes)], trials)),
        "repetition": ("presentation", np.tile(np.arange(trials), scenes))})
    measured = load_ceiling("internal_consistency")(assembly)
    if float(measured) > 0.1:
        measured.attrs["method"] = "internal_consistency"
        return measured
    return Score(1.0, 0.0, np.array([1.0]), {
        "method": "none", "measured_internal_consistency": float(measured),
        "measured_error": float(measured.error),
        "note": "the 900 single trials (read as 18 scenes x 50 trials) show no split-half reliability, so no "
                "ceiling can be estimated; scores are left unceiled (ceiling 1)"})


# --- Geirhos 2021 ------------------------------------------------------------------------------------------------

GEIRHOS_VARIANTS = {"cueconflict": "cue-conflict", "edge": "edge", "silhouette": "silhouette"}


def build_geirhos(folder: Path, work: Path) -> list[Packaged]:
    """Cue-conflict, edge and silhouette images with 10 subjects' 16-way choices each."""
    packaged = []
    for name, variant in GEIRHOS_VARIANTS.items():
        paths = sorted((folder / "stimuli" / variant).glob("*/*.png"))
        table = pd.DataFrame({"stimulus_id": [path.stem for path in paths],
                              "filename": [f"{path.parent.name}/{path.name}" for path in paths],
                              "category": [path.parent.name for path in paths]})
        if name == "cueconflict":
            table["texture"] = [stem.split("-")[1].rstrip("0123456789") for stem in table["stimulus_id"]]
        frames = [pd.read_csv(path) for path in sorted((folder / "human-trials" / variant).glob("*.csv"))]
        trials = pd.concat(frames, ignore_index=True)
        trials["stimulus_id"] = [Path(image.split("_")[-1]).stem for image in trials["imagename"]]
        unknown = np.setdiff1d(trials["stimulus_id"], table["stimulus_id"])
        if len(unknown):
            raise ValueError(f"Geirhos2021 {variant}: trials name images that are not in the stimuli: {unknown[:5]}")
        assembly = xr.DataArray(trials["object_response"].astype(str).to_numpy(), dims="presentation", coords={
            "stimulus_id": ("presentation", trials["stimulus_id"].to_numpy()),
            "truth": ("presentation", trials["category"].astype(str).to_numpy()),
            "condition": ("presentation", trials["condition"].astype(str).to_numpy()),
            "subject": ("presentation", trials["subj"].astype(str).to_numpy()),
            "session": ("presentation", trials["session"].to_numpy()),
            "trial": ("presentation", trials["trial"].to_numpy()),
            "rt": ("presentation", trials["rt"].to_numpy(dtype=float)),
        }, attrs={"identifier": f"Geirhos2021{name}", "stimulus_set_identifier": f"Geirhos2021{name}"})
        ceiling = load_ceiling("error_consistency")(assembly)
        ceiling.attrs["method"] = "error_consistency"
        fields = dict(identifier=f"Geirhos2021{name}-error_consistency", kind="behavior", region=None,
                      scoring="error_consistency", metric="error_consistency", ceiling_method="error_consistency",
                      convention="clipped_r_over_ceiling", visual_degrees=3.0, num_stimuli=len(table),
                      citation=GEIRHOS.citation,
                      source=_provenance(GEIRHOS, files=[f"stimuli/{variant}", f"human-trials/{variant}"],
                                         subjects=int(trials["subj"].nunique()), trials=len(trials)))
        packaged.append(Packaged(fields, f"Geirhos2021{name}", table, folder / "stimuli" / variant, assembly,
                                 ceiling))
    return packaged


BUILDERS = {
    KRIEGESKORTE.name: (build_kriegeskorte, ("Kriegeskorte2008.IT-rdm", "Kriegeskorte2008human.IT-rdm")),
    COGGAN.name: (build_coggan, tuple(f"Coggan2024fMRI.{region}-rdm" for region in COGGAN_REGIONS)),
    BASHIVAN.name: (build_bashivan, ("Bashivan2019.V4-pls",)),
    ALLEN.name: (build_allen, ("Allen2016mouse.V1-pls",)),
    GEIRHOS.name: (build_geirhos, tuple(f"Geirhos2021{name}-error_consistency" for name in GEIRHOS_VARIANTS)),
}
