"""Start the whole platform as local processes: the benchmark store, the submission API and scorers.

Every line a service prints is prefixed with its name; Ctrl-C (or SIGTERM)
stops them all. Used by ``make run`` (embedded defaults) and by the tests;
``run_distributed.py`` starts the same services on PostgreSQL and S3.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import Supervisor  # noqa: E402

from cortexscore.signing import load_or_create_key  # noqa: E402


WORKER_TOKEN_SETTINGS = ("API_WORKER_TOKEN", "STORE_WORKER_TOKEN", "SCORER_WORKER_TOKEN")


def embedded_worker_token(var: Path) -> str:
    """The embedded default's worker token: random, made at first start, kept in ``var/worker-token`` (0600)."""
    return load_or_create_key(var / "worker-token").hex()


def embedded_reference_token(var: Path) -> str:
    """The embedded default's token of the reserved ``reference`` account: made at first start, kept as text in
    ``var/reference-token`` (0600), which ``make seed`` reads; concurrent first starts agree on one token."""
    path = var / "reference-token"
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text().strip()
        if not token:
            raise ValueError(f"{path} is empty; delete it to make a new reference token") from None
        return token
    token = "cs_" + secrets.token_urlsafe(32)
    with os.fdopen(handle, "w") as file:
        file.write(token + "\n")
    return token


def start_services(supervisor: Supervisor, var: Path, *, port: int, store_port: int, scorers: int,
                   store_env: dict | None = None, api_env: dict | None = None,
                   scorer_env=lambda index: {}, restart_scorers: bool = True) -> str:
    """Start the store, then the API, then ``scorers`` scorers, each once the one before answers; return the API URL.

    ``scorer_env(index)`` adds settings to scorer ``index`` (1-based), e.g. its own metrics port. Scorers are
    stateless, so one that crashes is started again (``restart_scorers``) and never takes the platform down.
    """
    api_url, store_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{store_port}"
    supervisor.start("store", [sys.executable, "-m", "benchmark_store"],
                     {"STORE_PORT": str(store_port), "STORE_VAR_DIR": str(var), **(store_env or {})},
                     essential=False, restart=True)
    supervisor.wait_healthy(f"{store_url}/healthz", 300)
    supervisor.start("api", [sys.executable, "-m", "submission_api"],
                     {"PORT": str(port), "API_VAR_DIR": str(var), "API_STORE_URL": store_url, **(api_env or {})},
                     essential=False, restart=True)
    supervisor.wait_healthy(f"{api_url}/healthz", 60)
    for index in range(1, scorers + 1):
        supervisor.start(f"scorer-{index}", [sys.executable, "-m", "scorer"], {
            "SCORER_API_URL": api_url, "SCORER_STORE_URL": store_url,
            "SCORER_CACHE_DIR": str(var / f"scorer-{index}"), "SCORER_WORKER_ID": f"local-scorer-{index}",
            "SCORER_SANDBOX_HIDDEN_PATHS": json.dumps([str(var)]), **scorer_env(index)},
            essential=False, restart=restart_scorers)
    return api_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--store-port", type=int, default=int(os.environ.get("STORE_PORT", 8001)))
    parser.add_argument("--var-dir", default=os.environ.get("VAR_DIR", "var"))
    parser.add_argument("--scorers", type=int, default=int(os.environ.get("SCORERS", 1)))
    args = parser.parse_args()
    var = Path(args.var_dir).resolve()
    var.mkdir(parents=True, exist_ok=True)
    # Plain lines read better in a terminal than JSON; deploy/ keeps JSON for log collectors.
    # One token for the three services, unless the environment sets theirs (the tests do).
    token = embedded_worker_token(var)
    tokens = {name: os.environ.get(name) or token for name in WORKER_TOKEN_SETTINGS}
    supervisor = Supervisor({"CORTEXSCORE_LOG_FORMAT": os.environ.get("CORTEXSCORE_LOG_FORMAT", "text"), **tokens})
    # The reserved `reference` account's token, which `make seed` submits the reference models with.
    reference = os.environ.get("API_REFERENCE_TOKEN") or embedded_reference_token(var)
    try:
        api_url = start_services(supervisor, var, port=args.port, store_port=args.store_port, scorers=args.scorers,
                                 api_env={"API_REFERENCE_TOKEN": reference})
        print(f"[platform] ready: submit with  curl -F file=@model.zip {api_url}/submissions", flush=True)
        print(f"[platform] an empty leaderboard? `make seed` scores the reference models (PORT={args.port} "
              f"VAR_DIR={args.var_dir})", flush=True)
        supervisor.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()


if __name__ == "__main__":
    main()
