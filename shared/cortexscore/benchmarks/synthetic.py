"""A synthetic "IT" benchmark, generated deterministically so the platform works with no external data.

The simulated population is a noisy linear readout of a fixed random
conv-net's features. Repetitions carry independent noise, so the split-half
ceiling lies below 1, and a model whose features match the conv-net scores
near that ceiling.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from PIL import Image

from cortexscore.models.preprocessing import load_preprocess_images

IDENTIFIER = "Synthetic2026.IT-pls"
METRICS = ("pls", "ridge")
STIMULUS_SET_IDENTIFIER = "synthetic2026"
ASSEMBLY_IDENTIFIER = "synthetic2026.IT"
VERSION = 1
SEED = 2026
N_STIMULI = 400
N_PUBLIC = 100
N_NEUROIDS = 64
N_REPETITIONS = 5
NOISE_SD = 1.0
READOUT_RANK = 8
IMAGE_SIZE = 96
INPUT_SIZE = 224
N_CATEGORIES = 8


class SyntheticFeatureNet(torch.nn.Module):
    """The fixed random conv-net whose ``features`` the synthetic population reads out.

    >>> net = SyntheticFeatureNet()
    >>> tuple(net(torch.zeros(2, 3, 224, 224)).shape)
    (2, 256)
    """

    def __init__(self, seed: int = SEED):
        super().__init__()
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.conv1 = torch.nn.Conv2d(3, 8, kernel_size=7, stride=4)
        self.relu1 = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(8, 16, kernel_size=5, stride=2)
        self.relu2 = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(4)
        self.features = torch.nn.Flatten()
        torch.random.set_rng_state(generator_state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x))))))


def names(n_stimuli: int = N_STIMULI) -> tuple[str, str, str]:
    """(benchmark identifier of the pls variant, stimulus set identifier, assembly identifier) for a size.

    The default size keeps the original names; another size is another benchmark, with its own data.

    >>> names(640)
    ('Synthetic2026.IT640-pls', 'synthetic2026-640', 'synthetic2026-640.IT')
    """
    if n_stimuli == N_STIMULI:
        return IDENTIFIER, STIMULUS_SET_IDENTIFIER, ASSEMBLY_IDENTIFIER
    return (IDENTIFIER.replace(".IT-", f".IT{n_stimuli}-"), f"{STIMULUS_SET_IDENTIFIER}-{n_stimuli}",
            f"{STIMULUS_SET_IDENTIFIER}-{n_stimuli}.IT")


def _make_images(rng: np.random.Generator, image_dir: Path, n_stimuli: int = N_STIMULI) -> pd.DataFrame:
    """Smooth colour noise plus one of a few category templates, so images have structure."""
    image_dir.mkdir(parents=True, exist_ok=True)
    templates = rng.normal(size=(N_CATEGORIES, 6, 6, 3))
    rows = []
    for index in range(n_stimuli):
        category = index % N_CATEGORIES
        coarse = templates[category] + 0.8 * rng.normal(size=(6, 6, 3))
        coarse = (255 / (1 + np.exp(-coarse))).astype(np.uint8)
        image = Image.fromarray(coarse, "RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
        filename = f"synthetic_{index:04d}.png"
        image.save(image_dir / filename)
        rows.append({"stimulus_id": f"syn{index:04d}", "filename": filename,
                     "object_name": f"category{category}"})
    table = pd.DataFrame(rows)
    public = set(rng.permutation(n_stimuli)[:N_PUBLIC * n_stimuli // N_STIMULI])
    table["split"] = ["public" if index in public else "private" for index in range(n_stimuli)]
    return table


def generate(out_dir: Path, n_stimuli: int = N_STIMULI) -> tuple[pd.DataFrame, Path, xr.DataArray]:
    """Generate the images, the stimulus table and the assembly under ``out_dir``; a quarter of them public."""
    rng = np.random.default_rng(SEED)
    image_dir = out_dir / "images"
    table = _make_images(rng, image_dir, n_stimuli)
    net = SyntheticFeatureNet().eval()
    with torch.no_grad():
        # The default model preprocessing, so a model with the same features matches exactly.
        images = load_preprocess_images([image_dir / name for name in table["filename"]], image_size=INPUT_SIZE)
        features = net(torch.from_numpy(images)).double().numpy()
    # One global scale, not per-feature z-scores: the readout must stay linear in the raw features a model sees.
    features = (features - features.mean(0)) / features.std()
    # A low-rank readout: neurons share a few latent feature directions, as recorded populations do.
    readout = rng.normal(size=(features.shape[1], READOUT_RANK)) @ rng.normal(size=(READOUT_RANK, N_NEUROIDS))
    signal = features @ readout
    signal = (signal - signal.mean(0)) / signal.std(0)
    noise = NOISE_SD * rng.normal(size=(N_REPETITIONS, n_stimuli, N_NEUROIDS))
    responses = (signal[None] + noise).reshape(N_REPETITIONS * n_stimuli, N_NEUROIDS)
    repetition = np.repeat(np.arange(N_REPETITIONS), n_stimuli)
    stimulus_index = np.tile(np.arange(n_stimuli), N_REPETITIONS)
    assembly = xr.DataArray(
        responses.astype(np.float32),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", table["stimulus_id"].values[stimulus_index]),
            "repetition": ("presentation", repetition),
            "object_name": ("presentation", table["object_name"].values[stimulus_index]),
            "neuroid_id": ("neuroid", [f"synthetic.IT.{i}" for i in range(N_NEUROIDS)]),
            "region": ("neuroid", ["IT"] * N_NEUROIDS),
            "animal": ("neuroid", ["simulated"] * N_NEUROIDS),
        },
        attrs={"identifier": names(n_stimuli)[2], "stimulus_set_identifier": names(n_stimuli)[1],
               "seed": SEED, "noise_sd": NOISE_SD},
    )
    return table, image_dir, assembly


def benchmark_fields(metric: str = "pls", n_stimuli: int = N_STIMULI) -> dict:
    """The catalogue fields of a synthetic benchmark, apart from its files and ceiling.

    Every metric variant shares the one stimulus set, so a model runs over it once for all of them.
    """
    return dict(
        identifier=names(n_stimuli)[0].replace("-pls", f"-{metric}"), version=VERSION, region="IT", kind="neural",
        metric=metric,
        metric_options={}, ceiling_method="internal_consistency", convention="r2_over_ceiling",
        visual_degrees=8.0, leaderboard=False, synthetic=True, public=True, num_stimuli=n_stimuli,
        commits_region=True,
        citation="CortexScore synthetic benchmark: a noisy linear readout of a fixed random conv-net",
        source={"generator": "cortexscore.benchmarks.synthetic", "seed": SEED, "noise_sd": NOISE_SD,
                "readout_rank": READOUT_RANK, "repetitions": N_REPETITIONS},
    )
