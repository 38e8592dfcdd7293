"""Medium touch (gardenadm bootstrap): the bootstrap role creates the control-plane machines through the local
provider extension of a real bootstrap cluster, the control plane comes up on them through the bastion, and
the state is handed over as a ShootState whose secrets the new cluster's CAs match."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest
import yaml

from e2e import localsite as e2e

MEDIUM = e2e.REPO / "tests" / "e2e" / "medium"
NAMESPACE = "shoot--garden--root"
BASTION = "gardenadm-bootstrap"
ENVIRONMENT = {
    "MEDIUM_INVENTORY": str(MEDIUM),
    "MEDIUM_SITE": "e2e-medium",
    "MEDIUM_BOOTSTRAP_PORT": "6653",
    "MEDIUM_API_PORT": "6519",
    "MEDIUM_BASTION_PORTS": "2330-2399",
}


def local_medium(action: str) -> None:
    completed = subprocess.run(
        ["bash", str(e2e.REPO / "hack" / "local-medium.sh"), action],
        env={**e2e.environment(), **ENVIRONMENT},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def run(*args: str, log: str) -> e2e.Run:
    return e2e.ansible_playbook("-i", str(MEDIUM), *args, "playbooks/autonomous-shoot.yml", log=log)


def bootstrap_kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return e2e.kubectl(*args, kubeconfig=MEDIUM / ".site" / "bootstrap-cluster" / "admin.kubeconfig")


def shoot_kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return e2e.kubectl(*args, kubeconfig=MEDIUM / "artifacts" / "admin.conf")


def bastion_spec() -> dict:
    bastion = bootstrap_kubectl("get", "bastion", BASTION, "-n", NAMESPACE, "-o", "json")
    return json.loads(bastion.stdout)["spec"]


@pytest.fixture(scope="module")
def medium() -> Iterator[dict[str, e2e.Run]]:
    local_medium("stop")  # left over by an interrupted session
    local_medium("start")
    try:
        runs = {"kept": run("-e", "bootstrap_keep=true", log="medium-first-run.log")}
        assert runs["kept"].returncode == 0, runs["kept"].output[-5000:]
        # The controller plus the three machines the bootstrap created (an inventory that matched nothing
        # would pass every "nothing changed" check).
        assert len(runs["kept"].recap) == 4 and "localhost" in runs["kept"].recap, runs["kept"].recap
        runs["kept_again"] = run("-e", "bootstrap_keep=true", log="medium-second-run.log")
        yield runs
    finally:
        local_medium("stop")


def test_the_cluster_runs_on_the_machines_the_extension_created(medium) -> None:
    assert shoot_kubectl("get", "--raw", "/readyz").stdout == "ok"
    nodes = json.loads(shoot_kubectl("get", "nodes", "--output", "json").stdout)["items"]
    machines = json.loads(bootstrap_kubectl("get", "machines", "-n", NAMESPACE, "-o", "json").stdout)["items"]
    assert sorted(node["metadata"]["name"] for node in nodes) == sorted(m["metadata"]["name"] for m in machines)
    assert len(nodes) == 3
    for node in nodes:
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def test_the_shootstate_holds_the_secrets_the_cluster_runs_with(medium) -> None:
    path = MEDIUM / "artifacts" / "shootstate.yaml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    shoot_state = yaml.safe_load(path.read_text())
    assert shoot_state["kind"] == "ShootState"
    secrets = {entry["labels"]["name"]: entry for entry in shoot_state["spec"]["gardener"] if entry["type"] == "secret"}
    shootstate_ca = base64.b64decode(secrets["ca"]["data"]["data"]["ca.crt"])
    kubeconfig = yaml.safe_load((MEDIUM / "artifacts" / "admin.conf").read_text())
    cluster_ca = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    assert shootstate_ca == cluster_ca
    # Persisted as Gardener's secrets manager persists them, in the bootstrap namespace too.
    bootstrap_secrets = json.loads(
        bootstrap_kubectl("get", "secrets", "-n", NAMESPACE, "-l", "persist=true", "-o", "json").stdout
    )
    names = {secret["metadata"]["labels"]["name"] for secret in bootstrap_secrets["items"]}
    assert {"ca", "ca-etcd", "ca-etcd-peer", "ca-front-proxy", "ca-kubelet", "ssh-keypair"} <= names


def test_a_second_run_changes_nothing(medium) -> None:
    again = medium["kept_again"]
    assert again.returncode == 0, again.output[-5000:]
    assert again.changed_hosts() == {}
    assert len(again.recap) == 4, again.recap


def test_an_injected_last_error_fails_the_wait_within_seconds(medium, tmp_path) -> None:
    # The Bastion, because the finish has migrated the Infrastructure and the Worker even when kept, and an
    # extension leaves a migrated object alone. The extension fails its next reconcile of the Bastion with
    # this code and description (and takes the annotation away, so the retry after it succeeds).
    annotated = bootstrap_kubectl(
        "annotate",
        "bastion",
        BASTION,
        "-n",
        NAMESPACE,
        "--overwrite",
        "local.extensions.gardener.cloud/fail=ERR_INFRA_QUOTA_EXCEEDED:quota of networks exceeded",
    )
    assert annotated.returncode == 0, annotated.stderr
    playbook = tmp_path / "reconcile.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                    "tasks": [
                        {
                            "gardener.autonomous.gardener_bastion": {
                                "kubeconfig": str(MEDIUM / ".site" / "bootstrap-cluster" / "admin.kubeconfig"),
                                "namespace": NAMESPACE,
                                "name": BASTION,
                                "force_reconcile": True,
                                "spec": bastion_spec(),
                                "wait_timeout": 120,
                            }
                        }
                    ],
                }
            ]
        )
    )
    started = time.monotonic()
    failed = e2e.ansible_playbook("-i", "localhost,", str(playbook), log="medium-last-error.log")
    seconds = time.monotonic() - started
    assert failed.returncode != 0
    assert "quota of networks exceeded" in failed.output
    assert "ERR_INFRA_QUOTA_EXCEEDED" in failed.output
    assert seconds < 30, f"the failure took {seconds:.0f} s (ansible-playbook itself needs a few)"


def test_finishing_removes_the_bastion_and_namespace_and_then_nothing_changes(medium) -> None:
    finish = run(log="medium-finish.log")
    assert finish.returncode == 0, finish.output[-5000:]
    assert set(finish.changed_hosts()) == {"localhost"}
    namespaces = bootstrap_kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name")
    assert namespaces.stdout.strip() == ""
    containers = subprocess.run(
        ["docker", "ps", "--filter", "label=gardener-autonomous/site=e2e-medium", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in containers if "bastion" in name]
    # The cluster goes on without the bootstrap cluster's objects and the bastion.
    assert shoot_kubectl("get", "--raw", "/readyz").stdout == "ok"
    after = run(log="medium-after-finish.log")
    assert after.returncode == 0, after.output[-3000:]
    assert after.changed_hosts() == {}
    assert "was bootstrapped before" in after.output
    assert os.path.exists(MEDIUM / "artifacts" / "bootstrap-finished")
