"""Start the whole platform as local processes: the benchmark store, the submission API and scorers.

Every line a service prints is prefixed with its name; Ctrl-C (or SIGTERM)
stops them all. Used by ``make run`` (embedded defaults) and by the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

COLOURS = {"store": "\033[36m", "api": "\033[32m", "scorer": "\033[35m"}


def _pump(name: str, stream, colour: bool) -> None:
    prefix = f"{COLOURS.get(name.split('-')[0], '')}[{name}]\033[0m " if colour else f"[{name}] "
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode("utf-8", "replace"))
        sys.stdout.flush()


def wait_healthy(url: str, timeout: float, processes: dict) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"[platform] {name} exited with code {process.returncode} during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"[platform] {url} did not become healthy within {timeout:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--store-port", type=int, default=int(os.environ.get("STORE_PORT", 8001)))
    parser.add_argument("--var-dir", default=os.environ.get("VAR_DIR", "var"))
    parser.add_argument("--scorers", type=int, default=int(os.environ.get("SCORERS", 1)))
    args = parser.parse_args()
    var = Path(args.var_dir).resolve()
    var.mkdir(parents=True, exist_ok=True)
    api_url, store_url = f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.store_port}"
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    colour = sys.stdout.isatty()
    commands = {
        "store": ([sys.executable, "-m", "benchmark_store"],
                  {"STORE_PORT": str(args.store_port), "STORE_VAR_DIR": str(var)}),
        "api": ([sys.executable, "-m", "submission_api"],
                {"PORT": str(args.port), "API_VAR_DIR": str(var), "API_STORE_URL": store_url}),
    }
    for index in range(args.scorers):
        commands[f"scorer-{index + 1}"] = ([sys.executable, "-m", "scorer"], {
            "SCORER_API_URL": api_url, "SCORER_STORE_URL": store_url,
            "SCORER_CACHE_DIR": str(var / f"scorer-{index + 1}"), "SCORER_WORKER_ID": f"local-scorer-{index + 1}",
            "SCORER_SANDBOX_HIDDEN_PATHS": json.dumps([str(var)])})
    processes: dict[str, subprocess.Popen] = {}

    def stop(*_args) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        print("[platform] stopped", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    order = [["store"], ["api"], [name for name in commands if name.startswith("scorer")]]
    for group in order:
        for name in group:
            command, env = commands[name]
            processes[name] = subprocess.Popen(command, env={**base_env, **env}, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            threading.Thread(target=_pump, args=(name, processes[name].stdout, colour), daemon=True).start()
        if group == ["store"]:
            wait_healthy(store_url, 300, processes)
        elif group == ["api"]:
            wait_healthy(api_url, 60, processes)
            print(f"[platform] ready: submit with  curl -F file=@model.zip {api_url}/submissions", flush=True)
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"[platform] {name} exited with code {process.returncode}; stopping everything", flush=True)
                stop()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
