"""Runs a list of tasks through ansible-playbook on localhost (connection local) and returns each task's
registered result and when the controller received it (the ansible.posix.json callback's task end).
Every task gets ``ignore_errors``, so that a failure is a result to assert on.

Unlike tests/support/playbook.py, the tasks may use different modules and ansible-playbook may get
options (``--vault-password-file``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"


@dataclass
class Played:
    results: list[dict[str, Any]]  # one per task
    ended: list[float]  # per task, when its result reached the controller (seconds since the epoch)
    output: str  # everything ansible-playbook printed (JSON)


def play(workdir: Path, tasks: list[dict[str, Any]], *, kubeconfig: Path, options: tuple[str, ...] = ()) -> Played:
    """``kubeconfig`` goes to every module of the action group ``gardener.autonomous.kubernetes``."""
    registered = [{**task, "ignore_errors": True} for task in tasks]
    playbook = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/gardener.autonomous.kubernetes": {"kubeconfig": str(kubeconfig)}},
        "tasks": registered,
    }
    path = workdir / "playbook.yml"
    path.write_text(yaml.safe_dump([playbook], sort_keys=False))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / ".ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
    }
    command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}"]
    process = subprocess.run(
        [*command, *options, str(path)], env=env, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    output = process.stdout + process.stderr
    assert process.returncode == 0, output
    played = json.loads(process.stdout)["plays"][0]["tasks"]
    return Played(
        results=[task["hosts"]["localhost"] for task in played],
        ended=[_epoch(task["task"]["duration"]["end"]) for task in played],
        output=output,
    )


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
