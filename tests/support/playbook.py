"""Runs modules of the collection for real, through ansible-playbook on localhost (connection local).

    runner = PlaybookRunner(tmp_path, module_defaults={"group/gardener.autonomous.kubernetes": {...}})
    check, apply = runner.run("gardener.autonomous.cluster_objects", (args, CHECK), (args, APPLY))

Each step is one task (module arguments, task keywords), registered and with ignore_errors, so that
a failure is a result to assert on; ``runner.output`` holds everything ansible-playbook printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"

CHECK: dict[str, Any] = {"check_mode": True}
APPLY: dict[str, Any] = {"check_mode": False}
Step = tuple[dict[str, Any], dict[str, Any]]


class PlaybookRunner:
    def __init__(self, workdir: Path, module_defaults: Optional[dict[str, Any]] = None, verbosity: int = 1) -> None:
        self.workdir = workdir
        self.module_defaults = module_defaults or {}
        self.verbosity = verbosity
        self.output = ""
        self._runs = 0

    def run(self, module: str, *steps: Step, timeout: float = 300) -> list[dict[str, Any]]:
        """Runs one task per step; returns the registered results."""
        self._runs += 1
        results_file = self.workdir / f"results-{self._runs}.json"
        tasks: list[dict[str, Any]] = [
            {module: args, "register": f"step{index}", "ignore_errors": True, **keywords}
            for index, (args, keywords) in enumerate(steps)
        ]
        results = "[" + ", ".join(f"step{index}" for index in range(len(steps))) + "]"
        tasks.append(
            {
                "ansible.builtin.copy": {"content": "{{ " + results + " | to_json }}", "dest": str(results_file)},
                "check_mode": False,
                "diff": False,
                "no_log": True,  # the results are asserted on, not printed twice
            }
        )
        play = {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "module_defaults": self.module_defaults,
            "tasks": tasks,
        }
        playbook = self.workdir / f"playbook-{self._runs}.yml"
        playbook.write_text(yaml.safe_dump([play]))
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
            "ANSIBLE_NOCOLOR": "1",
        }
        command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}"]
        if self.verbosity:
            command.append("-" + "v" * self.verbosity)
        process = subprocess.run(
            [*command, str(playbook)], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        self.output = process.stdout + process.stderr
        assert process.returncode == 0, self.output
        return json.loads(results_file.read_text())
