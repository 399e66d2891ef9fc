"""BrainIO-compatible data formats: a StimulusSet is a CSV plus a zip of images,
an assembly is netCDF-4 with xarray coords.

Every file is written with its sha256, and every load can verify it.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from cortexscore.storage import ChecksumMismatch, sha256_file

STIMULUS_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-.]+$")


@dataclass(frozen=True)
class StimulusSetFiles:
    """A packaged stimulus set on disk: its table and its image archive."""

    identifier: str
    csv_path: Path
    zip_path: Path


def validate_stimulus_table(table: pd.DataFrame) -> None:
    """Raise a ValueError naming the problem when the table breaks the StimulusSet rules.

    >>> validate_stimulus_table(pd.DataFrame({"stimulus_id": ["a", "a"], "filename": ["a.png", "b.png"]}))
    Traceback (most recent call last):
    ...
    ValueError: stimulus_id must be unique; repeated: ['a']
    """
    for column in ("stimulus_id", "filename"):
        if column not in table.columns:
            raise ValueError(f"the stimulus table has no {column!r} column; columns are {list(table.columns)}")
    ids = table["stimulus_id"].astype(str)
    repeated = sorted(ids[ids.duplicated()].unique())
    if repeated:
        raise ValueError(f"stimulus_id must be unique; repeated: {repeated[:10]}")
    bad = [value for value in ids if not STIMULUS_ID_PATTERN.match(value)]
    if bad:
        raise ValueError(f"stimulus_id must be alphanumeric (with _ - .); invalid: {bad[:10]}")


def write_stimulus_set(identifier: str, table: pd.DataFrame, image_dir: Path, out_dir: Path) -> StimulusSetFiles:
    """Package ``table`` (with ``stimulus_id`` and ``filename`` relative to ``image_dir``) as CSV + zip."""
    validate_stimulus_table(table)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{identifier}.csv"
    zip_path = out_dir / f"{identifier}.zip"
    table.to_csv(csv_path, index=False)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for filename in table["filename"]:
            # A fixed timestamp keeps the archive's bytes, and so its sha256, reproducible.
            info = zipfile.ZipInfo(str(filename), date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, (image_dir / filename).read_bytes())
    return StimulusSetFiles(identifier, csv_path, zip_path)


def load_stimulus_set(csv_path: Path, zip_path: Path, extract_dir: Path) -> pd.DataFrame:
    """Read the table and extract its images once; ``image_path`` gives each file on disk."""
    table = pd.read_csv(csv_path, dtype={"stimulus_id": str})
    validate_stimulus_table(table)
    marker = extract_dir / ".complete"
    if not marker.exists():
        extract_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(extract_dir)
        marker.touch()
    table["image_path"] = [str(extract_dir / name) for name in table["filename"]]
    missing = [path for path in table["image_path"][:5] if not Path(path).is_file()]
    if missing:
        raise ValueError(f"stimulus set {zip_path.name} lacks images listed in its table: {missing}")
    return table


def write_assembly(assembly: xr.DataArray, path: Path) -> Path:
    """Write an assembly as netCDF-4, keeping the MultiIndex-free coords BrainIO uses."""
    if "identifier" not in assembly.attrs or "stimulus_set_identifier" not in assembly.attrs:
        raise ValueError("an assembly needs the attrs 'identifier' and 'stimulus_set_identifier' before it is stored")
    path.parent.mkdir(parents=True, exist_ok=True)
    assembly.to_netcdf(path, engine="h5netcdf", invalid_netcdf=False)
    return path


def load_assembly(path: Path, sha256: str | None = None) -> xr.DataArray:
    """Load a netCDF-4 assembly, verifying its checksum first when one is given."""
    if sha256 is not None:
        verify_checksum(path, sha256)
    with xr.open_dataarray(path, engine="h5netcdf") as stored:
        return stored.load()


def verify_checksum(path: Path, sha256: str) -> None:
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumMismatch(f"{path.name}: sha256 is {actual}, but the catalogue records {sha256}; "
                               "the file is corrupt or was changed")
