"""The record of everything the extension created on this machine, by id, in ``<state>/resources.json``
(0600), written again after every change, so that ``cleanup`` removes exactly that even when the
extension or the bootstrap cluster is gone.

    {"containers": [{"id", "name", "volumes": [names], "owner"}],
     "networks": [{"id", "name", "owner"}],
     "iptables": [{"rule": ["OUTPUT", "-o", "br-<id>", "-j", "REJECT"], "owner"}]}

``owner`` is ``<Kind> <namespace>/<name>`` of the extension object the resource belongs to.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable

import docker
import docker.errors

RESOURCES_FILE = "resources.json"
SECTIONS = ("containers", "networks", "iptables")


class Ledger:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / RESOURCES_FILE
        self._lock = threading.Lock()
        self._entries: dict[str, list[dict[str, Any]]] = read_entries(self.path)

    def record_container(self, container_id: str, name: str, volumes: list[str], owner: str) -> None:
        self._record("containers", {"id": container_id, "name": name, "volumes": volumes, "owner": owner})

    def record_network(self, network_id: str, name: str, owner: str) -> None:
        self._record("networks", {"id": network_id, "name": name, "owner": owner})

    def record_rule(self, rule: list[str], owner: str) -> None:
        self._record("iptables", {"rule": rule, "owner": owner})

    def forget_container(self, container_id: str) -> None:
        self._forget("containers", lambda entry: entry["id"] == container_id)

    def forget_network(self, network_id: str) -> None:
        self._forget("networks", lambda entry: entry["id"] == network_id)

    def forget_rule(self, rule: list[str]) -> None:
        self._forget("iptables", lambda entry: entry["rule"] == rule)

    def _record(self, section: str, entry: dict[str, Any]) -> None:
        key = "rule" if section == "iptables" else "id"
        with self._lock:
            entries = [known for known in self._entries[section] if known[key] != entry[key]]
            self._entries[section] = [*entries, entry]
            self._write()

    def _forget(self, section: str, matches: Callable[[dict[str, Any]], bool]) -> None:
        with self._lock:
            self._entries[section] = [entry for entry in self._entries[section] if not matches(entry)]
            self._write()

    def _write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self._entries, handle, indent=2)
            handle.write("\n")
        temporary.replace(self.path)


def read_entries(path: Path) -> dict[str, list[dict[str, Any]]]:
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    return {section: recorded.get(section, []) for section in SECTIONS}


def clean_up(state_dir: Path) -> list[str]:
    """Removes every recorded resource by id (what is gone already counts as removed); returns what
    could not be removed. The record is deleted once it is empty."""
    path = state_dir / RESOURCES_FILE
    entries = read_entries(path)
    client = docker.from_env()
    remaining = {
        "containers": [entry for entry in entries["containers"] if not _remove_container(client, entry)],
        "iptables": [entry for entry in entries["iptables"] if not remove_rule(entry["rule"])],
    }
    # Networks last: Docker refuses to remove a network that containers are still attached to.
    remaining["networks"] = [entry for entry in entries["networks"] if not _remove_network(client, entry)]
    if any(remaining.values()):
        path.write_text(json.dumps(remaining, indent=2) + "\n")
    elif path.exists():
        path.unlink()
    return [
        f"{section} {entry.get('name') or entry.get('rule')}" for section, left in remaining.items() for entry in left
    ]


def _remove_container(client: docker.DockerClient, entry: dict[str, Any]) -> bool:
    try:
        client.api.remove_container(entry["id"], force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError:
        return False
    # Anonymous volumes go with their container; these are left when the container was removed without -v.
    return all(_remove_volume(client, name) for name in entry["volumes"])


def _remove_volume(client: docker.DockerClient, name: str) -> bool:
    try:
        client.api.remove_volume(name, force=True)
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


def _remove_network(client: docker.DockerClient, entry: dict[str, Any]) -> bool:
    try:
        client.api.remove_network(entry["id"])
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


def remove_rule(rule: list[str]) -> bool:
    """Deletes the iptables rule if it is there; False when iptables fails."""
    present = subprocess.run(["iptables", "-C", *rule], capture_output=True, check=False).returncode
    if present == 1:  # no such rule (2 and more: iptables itself failed)
        return True
    return present == 0 and subprocess.run(["iptables", "-D", *rule], capture_output=True, check=False).returncode == 0
