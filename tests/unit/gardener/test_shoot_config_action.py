"""The shoot_config action, run for real through ansible-playbook with a few fake hosts (connection local)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
LOCAL_SITE = REPO / "inventories" / "local" / "gardener"

INVENTORY = {
    "all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {
            "control_plane": {
                "hosts": {
                    "cp-0": {"node_ip": "10.250.0.10"},
                    "cp-1": {"node_ip": "10.250.0.11"},
                    "cp-2": {"node_ip": "10.250.0.12"},
                }
            },
            "workers": {"hosts": {"worker-0": {"node_ip": "10.250.0.20"}}},
        },
    }
}

# The same template as the module's EXAMPLES: the machines from the groups and each host's node_ip.
MACHINES_FROM_INVENTORY = """
{%- set site = namespace(machines={}) -%}
{%- for role, group in [('control-plane', 'control_plane'), ('worker', 'workers')] -%}
{%- for host in groups[group] | default([]) -%}
{%- set site.machines = site.machines | combine({host: {
      'node_name': hostvars[host].node_name | default(host),
      'ip': hostvars[host].node_ip,
      'role': role}}) -%}
{%- endfor -%}
{%- endfor -%}
{{- site.machines -}}
"""

CHECKS = (
    "ansible_facts.shoot.technical_id == 'shoot--garden--root'",
    "shoot.api_server_url == 'https://api.local.autonomous.test'",
    "ansible_facts.shoot.machines[inventory_hostname].ip == node_ip",
    "compiled is not changed",
)


class Playbook:
    """A playbook next to a copy of the local site's manifests, run with the ansible.posix.json callback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "gardener"
        shutil.copytree(LOCAL_SITE, self.manifests)
        (root / "hosts.yml").write_text(yaml.safe_dump(INVENTORY))

    def run(
        self, path: str, *options: str, arguments: dict[str, Any] | None = None, checks: Sequence[str] = CHECKS
    ) -> tuple[int, dict[str, Any]]:
        """Runs the action with ``arguments`` (default: the machines from the inventory) and asserts ``checks``."""
        tasks = [
            {
                "name": "Compile the shoot fact",
                "gardener.autonomous.shoot_config": {"path": path}
                | ({"machines": MACHINES_FROM_INVENTORY} if arguments is None else arguments),
                "run_once": True,
                "register": "compiled",
            },
            {"name": "Every host holds the fact", "ansible.builtin.assert": {"that": checks, "quiet": True}},
        ]
        play = [{"name": "Validate", "hosts": "all", "gather_facts": False, "tasks": tasks}]
        playbook = self.root / "playbook.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_LOCAL_TEMP": str(self.root / ".tmp"),
            "ANSIBLE_NOCOLOR": "1",
        }
        process = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", str(self.root / "hosts.yml"), str(playbook), *options],
            cwd=self.root.parent,  # the relative manifest path must resolve against the playbook, not the cwd
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        try:
            return process.returncode, json.loads(process.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"ansible-playbook printed no JSON:\n{process.stdout}\n{process.stderr}")


def task_results(output: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    (task,) = [task for task in output["plays"][0]["tasks"] if task["task"]["name"] == name]
    return task["hosts"]


@pytest.fixture
def playbook(tmp_path: Path) -> Playbook:
    return Playbook(tmp_path / "site")


def test_run_once_sets_the_fact_on_every_host(playbook: Playbook) -> None:
    returncode, output = playbook.run("gardener")

    assert returncode == 0, json.dumps(output, indent=2)
    compiled = task_results(output, "Compile the shoot fact")
    assert list(compiled) == ["cp-0"], "run_once runs the action for one host"
    result = compiled["cp-0"]
    assert result["changed"] is False
    assert result["shoot"]["technical_id"] == "shoot--garden--root"
    assert result["shoot"]["kubernetes_service_ip"] == "10.252.0.1"
    assert result["ansible_facts"]["shoot"] == result["shoot"]
    assert set(result["shoot"]["machines"]) == {"cp-0", "cp-1", "cp-2", "worker-0"}
    asserted = task_results(output, "Every host holds the fact")
    assert sorted(asserted) == ["cp-0", "cp-1", "cp-2", "worker-0"]
    assert not any(host.get("failed") for host in asserted.values())


def test_check_mode_compiles_the_same_fact(playbook: Playbook) -> None:
    returncode, output = playbook.run(str(playbook.manifests), "--check")

    assert returncode == 0, json.dumps(output, indent=2)
    result = task_results(output, "Compile the shoot fact")["cp-0"]
    assert result["changed"] is False
    assert result["shoot"]["api_server_url"] == "https://api.local.autonomous.test"
    assert sorted(task_results(output, "Every host holds the fact")) == ["cp-0", "cp-1", "cp-2", "worker-0"]


def test_a_bad_directory_fails_listing_every_problem(playbook: Playbook) -> None:
    shoot_file = playbook.manifests / "shoot.yaml"
    shoot = yaml.safe_load(shoot_file.read_text())
    shoot["spec"]["kubernetes"]["version"] = "1.99.0"
    shoot["spec"]["networking"]["pods"] = "10.250.0.0/16"
    shoot_file.write_text(yaml.safe_dump(shoot))
    (playbook.manifests / "project.yaml").write_text(
        yaml.safe_dump({"apiVersion": "core.gardener.cloud/v1beta1", "kind": "Project", "metadata": {"name": "garden"}})
    )

    returncode, output = playbook.run(str(playbook.manifests))

    assert returncode != 0
    result = task_results(output, "Compile the shoot fact")["cp-0"]
    assert result["failed"] is True
    problems = result["problems"]
    assert len(problems) == 3, problems
    assert all(problem in result["msg"] for problem in problems)
    assert "3 problem(s)" in result["msg"]
    where = f"{shoot_file} (document 1)"
    assert any(problem.startswith(f"{where}: spec.kubernetes.version: '1.99.0' is not offered") for problem in problems)
    assert any(problem.startswith(f"{where}: spec.networking.pods: 10.250.0.0/16 overlaps") for problem in problems)
    assert any(
        problem.startswith(f"{playbook.manifests / 'project.yaml'} (document 1): spec.namespace: missing")
        for problem in problems
    )
    assert "shoot" not in result


def test_a_missing_directory_fails_naming_the_search(playbook: Playbook) -> None:
    returncode, output = playbook.run("no-such-dir")

    assert returncode != 0
    result = task_results(output, "Compile the shoot fact")["cp-0"]
    assert result["failed"] is True
    assert "cannot find the manifest directory 'no-such-dir'" in result["msg"]
    assert str(playbook.root / "no-such-dir") in result["msg"]


def test_without_machines_the_fact_has_none(playbook: Playbook) -> None:
    checks = ["ansible_facts.shoot.machines == {}", "ansible_facts.shoot.credentials is none"]

    returncode, output = playbook.run("gardener", arguments={"machines": None}, checks=checks)

    assert returncode == 0, json.dumps(output, indent=2)
    result = task_results(output, "Compile the shoot fact")["cp-0"]
    assert result["shoot"]["machines"] == {}
    assert result["shoot"]["shoot_manifest"] == yaml.safe_load((playbook.manifests / "shoot.yaml").read_text())
    assert sorted(task_results(output, "Every host holds the fact")) == ["cp-0", "cp-1", "cp-2", "worker-0"]


def test_required_managed_infrastructure_fails_for_an_unmanaged_shoot(playbook: Playbook) -> None:
    returncode, output = playbook.run("gardener", arguments={"require_managed_infrastructure": True})

    assert returncode != 0
    result = task_results(output, "Compile the shoot fact")["cp-0"]
    assert result["failed"] is True
    (problem,) = result["problems"]
    assert problem.startswith(f"{playbook.manifests / 'shoot.yaml'} (document 1): spec.credentialsBindingName: ")
    assert "spec.secretBindingName" in problem
    assert problem in result["msg"]
