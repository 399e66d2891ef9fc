"""Start the distributed topology of deploy/ from local processes (``make run-distributed``).

A throwaway PostgreSQL, ``rclone serve s3`` in place of MinIO, the benchmark
store and the submission API on S3 and PostgreSQL, and two (``--scorers``)
scorers, each with its own metrics port. Everything listens on 127.0.0.1.
The ports, URLs and process ids go to ``--state-file`` (JSON) once all is
up, for scripts and tests that drive the platform. Ctrl-C stops everything
and removes the throwaway database; a scorer that dies does not stop the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import Supervisor, ThrowawayPostgres, create_database, free_port, rclone_s3_command  # noqa: E402
from run_platform import start_services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--store-port", type=int, default=int(os.environ.get("STORE_PORT", 8001)))
    parser.add_argument("--s3-port", type=int, default=int(os.environ.get("S3_PORT", 0)), help="0: a free port")
    parser.add_argument("--var-dir", default=os.environ.get("VAR_DIR", "var/distributed"))
    parser.add_argument("--scorers", type=int, default=int(os.environ.get("SCORERS", 2)))
    parser.add_argument("--database-url", default=os.environ.get("API_DATABASE_URL", ""),
                        help="an existing PostgreSQL database; default: a throwaway server")
    parser.add_argument("--state-file", default="", help="default: VAR_DIR/distributed.json")
    args = parser.parse_args()
    var = Path(args.var_dir).resolve()
    var.mkdir(parents=True, exist_ok=True)
    state_file = Path(args.state_file or var / "distributed.json")
    state_file.unlink(missing_ok=True)
    supervisor = Supervisor()
    try:
        database_url = args.database_url
        if not database_url:
            postgres = ThrowawayPostgres().start()
            supervisor.cleanups.append(postgres.stop)
            database_url = create_database(postgres.url, "cortexscore")
            print(f"[platform] throwaway PostgreSQL at {database_url}", flush=True)
        s3_port = args.s3_port or free_port()
        access_key, secret_key = f"cortexscore-{secrets.token_hex(4)}", secrets.token_hex(16)
        # Buckets are folders to rclone. Creating them up front skips the bucket-existence check, whose
        # error answer (text/xml) the minio client cannot parse.
        for bucket in ("cortexscore-store", "cortexscore-submissions"):
            (var / "s3" / bucket).mkdir(parents=True, exist_ok=True)
        # Not essential: an S3 outage must not stop the platform, which rides it out with retries.
        supervisor.start("s3", rclone_s3_command(var / "s3", s3_port, access_key, secret_key), essential=False)
        supervisor.wait_healthy(f"http://127.0.0.1:{s3_port}/", 60, any_answer=True)
        s3 = f"s3://127.0.0.1:{s3_port}"
        worker_token = secrets.token_urlsafe(24)
        metrics_ports = {index: free_port() for index in range(1, args.scorers + 1)}
        api_url = start_services(
            supervisor, var, port=args.port, store_port=args.store_port, scorers=args.scorers,
            store_env={"STORE_OBJECT_STORE": f"{s3}/cortexscore-store", "STORE_S3_ACCESS_KEY": access_key,
                       "STORE_S3_SECRET_KEY": secret_key, "STORE_WORKER_TOKEN": worker_token},
            api_env={"API_OBJECT_STORE": f"{s3}/cortexscore-submissions", "API_S3_ACCESS_KEY": access_key,
                     "API_S3_SECRET_KEY": secret_key, "API_DATABASE_URL": database_url,
                     "API_WORKER_TOKEN": worker_token},
            scorer_env=lambda index: {"SCORER_WORKER_TOKEN": worker_token,
                                      "SCORER_METRICS_PORT": str(metrics_ports[index])},
            # A fixed pool, as N machines are: a scorer that dies stays down and its jobs move to the others.
            restart_scorers=False)
        state = {
            "api_url": api_url, "store_url": f"http://127.0.0.1:{args.store_port}", "s3_endpoint": s3,
            "database_url": database_url, "launcher_pid": os.getpid(), "s3_pid": supervisor.processes["s3"].pid,
            "scorers": {name: {"pid": process.pid, "metrics_port": metrics_ports[int(name.split("-")[1])]}
                        for name, process in supervisor.processes.items() if name.startswith("scorer-")},
        }
        staging = state_file.with_suffix(".part")
        staging.write_text(json.dumps(state, indent=2))
        staging.replace(state_file)
        print(f"[platform] ready: submit with  curl -F file=@model.zip {api_url}/submissions  (state in {state_file})",
              flush=True)
        supervisor.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
        state_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
