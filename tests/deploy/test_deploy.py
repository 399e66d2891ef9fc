"""deploy/ is valid: compose.yaml through `docker compose config`, the Kubernetes manifests against the API schemas."""
from __future__ import annotations

import os
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.30.0"


def compose_command() -> list[str]:
    """The Compose CLI: the `docker compose` plugin, else Debian's `docker-compose` (apt-get install docker-compose)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither the docker compose plugin nor docker-compose is installed (apt-get install docker-compose)")


def compose_config(env_file: str) -> subprocess.CompletedProcess:
    """`compose config` with the variables of ``env_file`` only (never a developer's deploy/.env)."""
    command = [*compose_command(), "--env-file", env_file, "-f", str(DEPLOY / "compose.yaml"), "config"]
    secrets = ("POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "WORKER_TOKEN")
    env = {name: value for name, value in os.environ.items() if name not in secrets}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)


def test_compose_file_is_valid_and_needs_its_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = compose_config(str(empty))
    assert missing.returncode != 0 and "deploy/.env" in missing.stderr, missing.stderr
    result = compose_config(str(DEPLOY / ".env.example"))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "minio", "submission_api", "benchmark_store", "scorer", "scorer-gpu"} <= set(services)
    api = services["submission_api"]["environment"]
    assert api["API_ALLOW_ANONYMOUS"] == "false"
    assert api["API_DATABASE_URL"].startswith("postgresql+psycopg://")
    # Scorers reach the API and the store on the internal network only, and publish no port.
    assert set(services["scorer"]["networks"]) == {"jobs"} and "ports" not in services["scorer"]
    assert yaml.safe_load(result.stdout)["networks"]["jobs"]["internal"] is True


def manifests() -> list[tuple[str, dict]]:
    return [(path.name, document) for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


@pytest.mark.parametrize("name,document", manifests(), ids=lambda value: value if isinstance(value, str) else "")
def test_kubernetes_manifest_matches_the_api_schema(name, document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kubernetes_deployment_has_every_piece():
    kinds = {(document["kind"], document["metadata"]["name"]) for _, document in manifests()}
    assert {("Deployment", "submission-api"), ("Deployment", "benchmark-store"), ("Deployment", "scorer"),
            ("Service", "api"), ("Service", "store"), ("Secret", "cortexscore"),
            ("HorizontalPodAutoscaler", "scorer")} <= kinds
    [api] = [d for _, d in manifests() if d["kind"] == "Deployment" and d["metadata"]["name"] == "submission-api"]
    env = {item["name"]: item.get("value") for item in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["API_ALLOW_ANONYMOUS"] == "false"


def test_scorers_may_reach_only_the_api_the_store_and_dns():
    [policy] = [d for _, d in manifests() if d["kind"] == "NetworkPolicy"
                and d["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": "scorer"}]
    assert "Egress" in policy["spec"]["policyTypes"]
    targets = [(peer.get("podSelector", {}).get("matchLabels"), [port["port"] for port in rule["ports"]])
               for rule in policy["spec"]["egress"] for peer in rule["to"]]
    assert targets == [({"app.kubernetes.io/name": "submission-api"}, [8000]),
                       ({"app.kubernetes.io/name": "benchmark-store"}, [8001]),
                       ({"k8s-app": "kube-dns"}, [53, 53])]


def test_the_scorer_sandbox_needs_no_privileged_container_and_no_unconfined_seccomp(tmp_path):
    """bubblewrap builds the sandbox unprivileged: no deployment may give the scorer SYS_ADMIN or drop seccomp."""
    [scorer] = [d for _, d in manifests() if d["kind"] == "Deployment" and d["metadata"]["name"] == "scorer"]
    pod = scorer["spec"]["template"]["spec"]
    assert pod["hostUsers"] is False
    assert pod["securityContext"]["seccompProfile"]["type"] == "Localhost"
    context = pod["containers"][0]["securityContext"]
    assert context.get("privileged") is False and "add" not in context.get("capabilities", {})
    assert (DEPLOY / "seccomp" / pod["securityContext"]["seccompProfile"]["localhostProfile"].split("/")[-1]).exists()
    result = compose_config(str(DEPLOY / ".env.example"))
    for name in ("scorer", "scorer-gpu"):
        service = yaml.safe_load(result.stdout)["services"][name]
        assert not service.get("privileged") and "SYS_ADMIN" not in service.get("cap_add", [])
        assert not any("unconfined" in option and option.startswith("seccomp")
                       for option in service.get("security_opt", [])), service["security_opt"]
    assert (DEPLOY / "k8s" / "runtimeclass-gvisor.yaml").exists()
