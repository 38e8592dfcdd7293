"""The cluster_pki action run by ansible-playbook the way the pki role uses it: slurp, reconcile, copy back."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.gardener.autonomous.plugins.modules.cluster_pki import EXAMPLES

REPO_ROOT = Path(__file__).resolve().parents[3]
MACHINES = ("cp-0", "cp-1")
VAULT_HEADER = "$ANSIBLE_VAULT;1.1;AES256\n"

PLAYBOOK = """
- name: Reconcile the PKI of pretend control-plane machines (one state file each)
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    machines: [cp-0, cp-1]
    state_dir: "{{ playbook_dir }}/machines"
    pki_encrypt: false
    pki_no_log: true
  tasks:
    - name: Find the machines' states
      ansible.builtin.find: {paths: "{{ state_dir }}", patterns: "*.yaml"}
      register: pki_files

    - name: Read them
      ansible.builtin.slurp: {src: "{{ item.path }}"}
      loop: "{{ pki_files.files }}"
      register: pki_slurped
      no_log: true

    - name: Reconcile the secrets
      gardener.autonomous.cluster_pki:
        states: "{{ dict(machines | product([''])) | combine(pki_existing) }}"
        authorities:
          - {name: ca, common_name: kubernetes}
          - {name: ca-etcd, common_name: etcd}
        certificates:
          - name: kube-apiserver
            ca: ca
            common_name: kube-apiserver
            dns_names: [kubernetes, api.example.com]
            ip_addresses: [10.252.0.1, 10.250.0.10, 10.250.0.11, 10.250.0.12]
            usage: server
          - {name: admin, ca: ca, common_name: admin, organizations: ["system:masters"], usage: client}
          - {name: etcd-peer-cp-0, ca: ca-etcd, common_name: cp-0, ip_addresses: [10.250.0.10], usage: peer}
        keys:
          - {name: service-account-key, type: rsa}
          - {name: kube-apiserver-etcd-encryption-key, type: aescbc}
          - {name: kube-apiserver-static-token, type: static-token, users: [health-check]}
        encrypt: "{{ pki_encrypt }}"
      vars:
        pki_existing: >-
          {{ dict(pki_slurped.results | map(attribute='item.path') | map('basename') | map('splitext') | map('first')
                  | zip(pki_slurped.results | map(attribute='content') | map('b64decode'))) }}
      register: pki
      no_log: "{{ pki_no_log }}"

    - name: Write each machine's state
      ansible.builtin.copy:
        content: "{{ pki.contents[item] }}"
        dest: "{{ state_dir }}/{{ item }}.yaml"
        mode: "0600"
        decrypt: false  # copy would otherwise decrypt vault text before writing it
      loop: "{{ machines }}"
      no_log: true

    - name: Keep the result for the test (its own channel, never the output)
      ansible.builtin.copy: {content: "{{ pki | to_json }}", dest: "{{ playbook_dir }}/result.json", mode: "0600"}
      check_mode: false
      no_log: true
"""


@dataclass
class Run:
    returncode: int
    output: str
    result: dict[str, Any]

    def task_changed(self, task: str) -> bool:
        """Whether the output shows the task (or one of its items) as changed."""
        block = self.output.split(f"TASK [{task}]", 1)[1]
        block = re.split(r"\nTASK \[|\nPLAY RECAP", block, maxsplit=1)[0]
        return re.search(r"^changed: ", block, re.MULTILINE) is not None


class Site:
    """A temp dir with the playbook and the pretend machines' state files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "site.yml").write_text(PLAYBOOK)
        (root / "machines").mkdir()
        (root / "vault-password").write_text("correct horse battery staple\n")

    def play(self, *options: str, playbook: str = "site.yml") -> Run:
        (self.root / "result.json").unlink(missing_ok=True)
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".collections"),
            "ANSIBLE_LOCAL_TEMP": str(self.root / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PIPELINING": "1",
        }
        completed = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", *options, playbook],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        result_file = self.root / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
        return Run(completed.returncode, completed.stdout + completed.stderr, result)

    def state(self, machine: str) -> Path:
        return self.root / "machines" / f"{machine}.yaml"


def succeeded(run: Run) -> Run:
    assert run.returncode == 0, run.output
    return run


def secret_values(result: dict[str, Any]) -> set[str]:
    """Every value the output must not show: secret data, PEM bodies, the state's base64 data values."""
    values = set()
    for data in result["secrets"].values():
        for key, value in data.items():
            if key != "key":  # the encryption key's name, key<unix seconds>, is not secret
                values.add(value)
                values.update(line for line in value.splitlines() if len(line) >= 32 and "-----" not in line)
    for content in result["contents"].values():
        values.update(m.group(1) for m in re.finditer(r": ([A-Za-z0-9+/=]{64,})$", content, re.MULTILINE))
    return values


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Run, Run]:
    """Two runs on machines without state files; the first with -vvv."""
    site = Site(tmp_path_factory.mktemp("plain"))
    first = succeeded(site.play("-vvv"))
    second = succeeded(site.play())
    return site, first, second


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Run, Run]:
    site = Site(tmp_path_factory.mktemp("encrypted"))
    options = ("--vault-password-file", "vault-password", "-e", "pki_encrypt=true")
    first = succeeded(site.play(*options))
    second = succeeded(site.play(*options))
    return site, first, second


def test_first_run_creates_the_state_on_every_machine(plain: tuple[Site, Run, Run]) -> None:
    site, first, _second = plain

    assert first.result["changed"] is True
    assert {issued["reason"] for issued in first.result["issued"]} == {"created"}
    assert len(first.result["issued"]) == 8
    assert first.result["removed"] == []
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first.result["ca_cert_hash"])
    assert first.result["secrets"]["ca"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert set(first.result["contents"]) == set(MACHINES)
    for machine in MACHINES:
        assert site.state(machine).read_text() == first.result["contents"][machine]
        assert site.state(machine).stat().st_mode & 0o777 == 0o600
    assert first.task_changed("Write each machine's state")


def test_second_run_changes_nothing(plain: tuple[Site, Run, Run]) -> None:
    _site, first, second = plain

    assert second.result["changed"] is False
    assert second.result["issued"] == []
    assert second.result["contents"] == first.result["contents"]
    assert second.result["secrets"] == first.result["secrets"]
    assert second.result["ca_cert_hash"] == first.result["ca_cert_hash"]
    assert not second.task_changed("Reconcile the secrets")
    assert not second.task_changed("Write each machine's state")


def test_verbose_output_shows_no_key_material(plain: tuple[Site, Run, Run]) -> None:
    _site, first, _second = plain

    values = secret_values(first.result)
    assert first.result["secrets"]["kube-apiserver-static-token"]["health-check"] in values
    assert first.result["secrets"]["kube-apiserver-etcd-encryption-key"]["secret"] in values
    assert len(values) > 50
    assert "<localhost> EXEC" in first.output  # it is the -vvv output
    assert "-----BEGIN" not in first.output
    assert "LS0tLS1CRUdJTi" not in first.output  # base64 of "-----BEGIN"
    assert [value for value in values if value in first.output] == []


def test_check_mode_predicts_without_writing(tmp_path: Path) -> None:
    fresh = Site(tmp_path)

    predicted = succeeded(fresh.play("--check"))

    assert predicted.result["changed"] is True
    assert len(predicted.result["issued"]) == 8
    assert not any(fresh.state(machine).exists() for machine in MACHINES)


def test_check_mode_on_a_current_state_changes_nothing_and_output_is_censored_without_no_log(
    plain: tuple[Site, Run, Run],
) -> None:
    site, first, _second = plain

    run = succeeded(site.play("--check", "-vvv", "-e", "pki_no_log=false"))

    assert run.result["changed"] is False
    assert run.result["contents"] == first.result["contents"]
    assert re.search(r"TASK \[Reconcile the secrets\].*?censored", run.output, re.DOTALL)
    assert "-----BEGIN" not in run.output
    assert [value for value in secret_values(first.result) if value in run.output] == []


def test_encrypted_state_is_vault_text_and_does_not_churn(encrypted: tuple[Site, Run, Run]) -> None:
    site, first, second = encrypted

    assert first.result["changed"] is True
    for machine in MACHINES:
        assert first.result["contents"][machine].startswith(VAULT_HEADER)
        assert site.state(machine).read_text() == first.result["contents"][machine]
    assert second.result["changed"] is False
    assert second.result["contents"] == first.result["contents"]
    assert second.result["secrets"] == first.result["secrets"]
    assert not second.task_changed("Write each machine's state")


def test_encrypted_state_without_the_vault_secret_fails_clearly(encrypted: tuple[Site, Run, Run]) -> None:
    site, _first, _second = encrypted

    failed = site.play()

    assert failed.returncode != 0
    assert "the secrets state of cp-0 is vault-encrypted but no vault secret is loaded" in failed.output
    assert "BEGIN" not in failed.output

    (site.root / "wrong-password").write_text("not the password\n")
    wrong = site.play("--vault-password-file", "wrong-password")
    assert wrong.returncode != 0
    assert "the secrets state of cp-0 cannot be decrypted with the loaded vault secrets" in wrong.output


EXAMPLE_INVENTORY = """
control_plane:
  hosts:
    cp-0: {}
    cp-1: {}
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def test_documented_example_runs_twice_without_change_and_fails_visibly(
    tmp_path: Path, plain: tuple[Site, Run, Run]
) -> None:
    site = Site(tmp_path)
    (tmp_path / "example.yml").write_text(EXAMPLES)
    (tmp_path / "hosts.yml").write_text(EXAMPLE_INVENTORY)
    machine_dir = "{{ playbook_dir }}/machines/{{ inventory_hostname }}"
    options = (
        "-i",
        "hosts.yml",
        "-e",
        "ansible_become=false",
        "-e",
        f"pki_state_dir={machine_dir}",
        "-e",
        f"pki_ca_dir={machine_dir}/pki",
    )

    first = succeeded(site.play(*options, playbook="example.yml"))
    second = succeeded(site.play(*options, playbook="example.yml"))

    state = tmp_path / "machines" / "cp-0" / "secrets.yaml"
    assert state.read_text() == (tmp_path / "machines" / "cp-1" / "secrets.yaml").read_text()
    assert first.task_changed("Write the secrets state back")
    assert re.findall(r"changed=(\d+)", second.output) == ["0", "0"], second.output
    assert "-----BEGIN" not in first.output + second.output

    plain_site, _first, _second = plain
    (tmp_path / "machines" / "cp-1" / "secrets.yaml").write_text(plain_site.state("cp-0").read_text())
    failed = site.play(*options, playbook="example.yml")
    assert failed.returncode != 0
    assert 'secret "ca" differs between cp-0 and cp-1; restore the secrets state file' in failed.output
    assert "-----BEGIN" not in failed.output
