"""Drives the end-to-end tests' local site: the site tooling, the playbooks, SSH through the bastion, kubectl."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE_DIR = Path(__file__).resolve().parent / "site"
OUTPUT = REPO / "tests" / "output" / "e2e"
VENV_BIN = REPO / ".venv" / "bin"
CACHE_DIR = Path(os.environ.get("GARDENER_AUTONOMOUS_CACHE", Path.home() / ".cache" / "gardener-autonomous"))
KERNEL_KEYS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "vm/panic_on_oom")
_RECAP = re.compile(
    r"^(?P<host>\S+)\s*: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)",
    re.MULTILINE,
)
_SLOW_TASK = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>\d+\.\d+)s$", re.MULTILINE)


@dataclass
class Run:
    """One ansible-playbook run: its exit code, its whole output, the recap per host and the time."""

    returncode: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)
    slowest: list[tuple[str, float]] = field(default_factory=list)

    def changed_hosts(self) -> dict[str, int]:
        return {host: counts["changed"] for host, counts in self.recap.items() if counts["changed"]}


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    }


def ansible_playbook(*args: str, log: str, timeout: float = 1800) -> Run:
    """Runs ansible-playbook from the repository root and keeps its output in tests/output/e2e/<log>."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    completed = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), *args],
        cwd=REPO,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - started
    output = completed.stdout + completed.stderr
    (OUTPUT / log).write_text(output)
    recap = {
        match["host"]: {key: int(match[key]) for key in ("ok", "changed", "unreachable", "failed")}
        for match in _RECAP.finditer(output.split("PLAY RECAP")[-1])
    }
    slowest = [(match["task"].strip(), float(match["seconds"])) for match in _SLOW_TASK.finditer(output)]
    return Run(completed.returncode, output, seconds, recap, slowest)


def site_playbook(*args: str, log: str) -> Run:
    """The main job (or another playbook) against the e2e site's inventory."""
    return ansible_playbook("-i", str(SITE_DIR), *args, log=log)


def local_site(state: str, *extra_vars: str) -> Run:
    return ansible_playbook(
        "hack/local-site.yml",
        "-e",
        f"@{SITE_DIR / 'local-site.yml'}",
        "-e",
        f"local_site_state={state}",
        *(part for var in extra_vars for part in ("-e", var)),
        log=f"local-site-{state}.log",
    )


def ssh(host: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A command on a machine, through the bastion, as root."""
    ssh_config = str(SITE_DIR / ".site" / "ssh_config")
    return subprocess.run(
        ["ssh", "-F", ssh_config, "-o", "BatchMode=yes", host, f"sudo sh -c {quote(command)}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def kubectl(*args: str, timeout: float = 60, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    """kubectl v1.20.2 on this machine, by default with the admin kubeconfig the playbook wrote (through the
    load balancer)."""
    kubeconfig = kubeconfig or SITE_DIR / "artifacts" / "admin.conf"
    return subprocess.run(
        [str(VENV_BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kubectl_json(*args: str) -> dict:
    completed = kubectl(*args, "--output", "json")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def kernel_settings() -> dict[str, str]:
    return {key: Path("/proc/sys", key).read_text().strip() for key in KERNEL_KEYS}


def inventory() -> dict:
    completed = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(SITE_DIR), "--list"],
        capture_output=True,
        text=True,
        env=environment(),
        check=True,
    )
    return json.loads(completed.stdout)


def inventory_hosts(group: str) -> list[str]:
    return sorted(inventory().get(group, {}).get("hosts", []))


def hostvar(host: str, name: str) -> str:
    return inventory()["_meta"]["hostvars"][host][name]


def wait_until(predicate, timeout: float, interval: float = 2.0, what: str = "condition"):
    """Polls a condition of the outside world (a container coming back); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


def bundle_image(name: str) -> str:
    """The reference of an image in the offline bundle the site imports (make setup builds it)."""
    bundle = Path((CACHE_DIR / "bundle-dir").read_text().strip())
    manifest = json.loads((bundle / "manifest.json").read_text())
    return next(image["ref"] for image in manifest["images"] if image["name"] == name)


ETCD_CLIENT = "/var/lib/gardener-autonomous/etcd-client"


def etcdctl(machine: str, port: int, arguments: str, *, hosts: list[str] | None = None, certificate: bool = True):
    """etcdctl on a control-plane machine against the members of the given hosts (default: all)."""
    endpoints = ",".join(
        f"https://{hostvar(host, 'node_ip')}:{port}" for host in hosts or inventory_hosts("control_plane")
    )
    credentials = f"--cert {ETCD_CLIENT}/tls.crt --key {ETCD_CLIENT}/tls.key" if certificate else ""
    return ssh(
        machine,
        f"ETCDCTL_API=3 /opt/bin/etcdctl --dial-timeout 5s --command-timeout 10s --cacert {ETCD_CLIENT}/ca.crt "
        f"{credentials} --endpoints {endpoints} {arguments}",
    )
