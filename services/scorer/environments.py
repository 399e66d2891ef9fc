"""Per-submission Python environments: what a submission declares beyond the platform, as binary wheels only.

The trusted scorer resolves a requirement set with pip against the configured package index, from binary
wheels only (``--only-binary=:all:``), so no package's code runs at install time; the platform's own
packages are never replaced (a set that would replace one is refused, naming it). The wheels are
installed into a folder keyed by the set's hash, built once and reused by every later submission with
the same set; the sandbox mounts it read-only after the platform's own packages.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cortexscore.signing import FileSigner

from scorer.sandbox import SubmissionFailure

PIP_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Environment:
    """A built environment: its site folder (for the sandbox) and the exact versions in it."""

    key: str
    site: Path
    versions: dict[str, str]


class EnvironmentBuilder:
    """Builds and caches environments under ``root``; each is checked by an HMAC before reuse."""

    def __init__(self, root: Path, index_url: str, max_bytes: int, signer: FileSigner):
        self.root, self.index_url, self.max_bytes, self.signer = root, index_url, max_bytes, signer

    def key(self, requirements: list[str]) -> str:
        identity = [sys.version, platform.machine(), self.index_url, *sorted(set(requirements))]
        return hashlib.sha256("\n".join(identity).encode()).hexdigest()[:32]

    def get(self, requirements: list[str], log: Callable[[str], None]) -> Environment:
        """The environment for ``requirements``: reused when built before, else built now (or a named refusal)."""
        key = self.key(requirements)
        folder = self.root / key
        manifest = folder / "environment.json"
        if manifest.exists() and self.signer.verify(manifest, key):
            versions = json.loads(manifest.read_text())["versions"]
            log(f"[platform] reusing the built environment {key[:12]} ({_describe(versions)})")
            return Environment(key, folder / "site", versions)
        started = time.perf_counter()
        log(f"[platform] building an environment for {', '.join(requirements)} (binary wheels only)")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        try:
            versions = self._install(requirements, staging / "site")
            size = sum(path.stat().st_size for path in (staging / "site").rglob("*") if path.is_file())
            if size > self.max_bytes:
                raise SubmissionFailure(f"the declared requirements install {size:,} bytes, over the limit of "
                                        f"{self.max_bytes:,} bytes per submission environment "
                                        "(SCORER_MAX_ENVIRONMENT_BYTES); declare fewer or smaller packages")
            (staging / "environment.json").write_text(json.dumps({"requirements": requirements,
                                                                  "versions": versions, "bytes": size}))
            self.signer.sign(staging / "environment.json", key)
            shutil.rmtree(folder, ignore_errors=True)  # an unsigned or torn earlier attempt
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log(f"[platform] built environment {key[:12]} in {time.perf_counter() - started:.1f}s: {_describe(versions)}")
        return Environment(key, folder / "site", versions)

    def _pip(self, arguments: list[str]) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *arguments,
                   "--only-binary=:all:", "--index-url", self.index_url]
        # The index is ours to choose, not a pip.conf's; an index that does not answer fails the job quickly.
        env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_RETRIES": "1", "PIP_TIMEOUT": "15"}
        return subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, env=env)

    def _install(self, requirements: list[str], site: Path) -> dict[str, str]:
        # Resolve against the platform's environment: what it already satisfies is not installed again.
        report_path = site.parent / "report.json"
        resolved = self._pip(["install", "--dry-run", "--quiet", "--report", str(report_path), *requirements])
        if resolved.returncode != 0:
            raise SubmissionFailure(_pip_problem(resolved.stderr, self.index_url))
        planned = {item["metadata"]["name"]: item["metadata"]["version"]
                   for item in json.loads(report_path.read_text())["install"]}
        replaced = sorted(name for name in planned if _installed_version(name) is not None)
        if replaced:
            raise SubmissionFailure("the declared requirements need other versions of the platform's own packages ("
                                    + ", ".join(f"{name} {planned[name]} instead of {_installed_version(name)}"
                                                for name in replaced)
                                    + "); loosen the requirement so that the platform's version satisfies it")
        if planned:
            pinned = [f"{name}=={version}" for name, version in sorted(planned.items())]
            installed = self._pip(["install", "--no-deps", "--no-compile", "--target", str(site), *pinned])
            if installed.returncode != 0:
                raise SubmissionFailure(_pip_problem(installed.stderr, self.index_url))
        else:
            site.mkdir(parents=True)
        return planned


def _installed_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _describe(versions: dict[str, str]) -> str:
    return ", ".join(f"{name}=={version}" for name, version in sorted(versions.items())) or "nothing to install"


def _pip_problem(stderr: str, index_url: str) -> str:
    """pip's refusal, in words naming the requirement and the fix."""
    missing = re.search(r"No matching distribution found for (\S+)", stderr)
    if missing:
        return (f"no binary wheel of {missing.group(1)} for this platform (Python "
                f"{sys.version_info.major}.{sys.version_info.minor}, {platform.machine()}) on {index_url}; the "
                "scorers install wheels only and never build a package from source")
    lines = [line for line in stderr.splitlines() if line.strip()]
    return "the declared requirements could not be installed: " + " ".join(lines[-3:])[:1500]
