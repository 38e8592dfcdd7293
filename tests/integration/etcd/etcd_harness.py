"""Real etcd 3.4 members on loopback addresses (127.0.0.2, .3, ...), TLS everywhere, client
certificates required from clients and peers, and a way to run the etcd_member module through
ansible-playbook against them.

Each member has its own loopback address, as each control-plane machine has its own IP, so that
"endpoints on this member's host" means what it means on a real site. Ports are picked free per
address. Data lives on tmpfs when there is one; processes are stopped by pid and the work directory
is removed by ``EtcdSite.close``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
CACHE_DIR = Path(
    os.environ.get("GARDENER_AUTONOMOUS_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gardener-autonomous"
)
MODULE = "gardener.autonomous.etcd_member"
HEALTH_TIMEOUT = 30.0


class EtcdMissing(RuntimeError):
    """The etcd binaries are not in the offline bundle cache."""


def etcd_binaries() -> tuple[Path, Path]:
    bundle_dir_file = CACHE_DIR / "bundle-dir"
    if not bundle_dir_file.is_file():
        raise EtcdMissing(f"{bundle_dir_file} is missing: run hack/build-bundle.sh first")
    bin_dir = Path(bundle_dir_file.read_text().strip()) / "bin"
    paths = (bin_dir / "etcd", bin_dir / "etcdctl")
    for path in paths:
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EtcdMissing(f"{path} is missing: run hack/build-bundle.sh first")
    return paths


def free_port(ip: str) -> int:
    with socket.socket() as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


# Certificates


def _write_pair(directory: Path, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    (directory / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file = directory / f"{name}.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


class Authority:
    """A CA (EC P-256, quick to generate) writing `<name>.crt`/`<name>.key` into a directory."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            _builder(subject, subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        _write_pair(directory, name, self.certificate, self.key)
        self.ca_file = directory / f"{name}.crt"

    def issue(self, name: str, ips: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A client certificate; with `ips` also a serving certificate for them (and localhost)."""
        key = ec.generate_private_key(ec.SECP256R1())
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if ips else [])
        builder = _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), self.certificate.subject, key.public_key()
        ).add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if ips:
            names = [x509.DNSName("localhost")] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        _write_pair(self.directory, name, builder.sign(self.key, hashes.SHA256()), key)
        return self.directory / f"{name}.crt", self.directory / f"{name}.key"


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
    )


class EtcdPki:
    """ca-etcd (serving and client certificates), ca-etcd-peer (peer certificates), and a foreign CA."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700)
        self.ca = Authority(directory, "ca-etcd")
        self.peer_ca = Authority(directory, "ca-etcd-peer")
        self.foreign_ca = Authority(directory, "ca-foreign")
        self.client_cert, self.client_key = self.ca.issue("etcd-client")
        self.foreign_client_cert, self.foreign_client_key = self.foreign_ca.issue("foreign-client")


# Members


@dataclass
class EtcdMember:
    name: str
    ip: str
    client_port: int
    peer_port: int
    root: Path  # holds data/, the manifest and the log
    server_tls: tuple[Path, Path]
    peer_tls: tuple[Path, Path]
    process: Optional[subprocess.Popen] = None
    started_with: tuple[str, str] = ("", "")  # (initial cluster, state)

    @property
    def client_url(self) -> str:
        return f"https://{self.ip}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://{self.ip}:{self.peer_port}"

    @property
    def data_dir(self) -> Path:
        """The host directory; etcd runs with <data_dir>/new.etcd like the static pod."""
        return self.root / "data"

    @property
    def manifest_path(self) -> Path:
        return self.root / "etcd-main.yaml"

    @property
    def log_path(self) -> Path:
        return self.root / "etcd.log"


@dataclass
class EtcdSite:
    workdir: Path
    etcd_binary: Path
    etcdctl_binary: Path
    pki: EtcdPki = field(init=False)
    members: dict[str, EtcdMember] = field(default_factory=dict)
    last_output: str = ""

    def __post_init__(self) -> None:
        self.pki = EtcdPki(self.workdir / "pki")

    def member(self, name: str, ip: str) -> EtcdMember:
        root = self.workdir / name
        root.mkdir()
        member = EtcdMember(
            name=name,
            ip=ip,
            client_port=free_port(ip),
            peer_port=free_port(ip),
            root=root,
            server_tls=self.pki.ca.issue(f"etcd-server-{name}", (ip,)),
            peer_tls=self.pki.peer_ca.issue(f"etcd-peer-{name}", (ip,)),
        )
        self.members[name] = member
        return member

    def start(self, member: EtcdMember, initial_cluster: str, state: str) -> None:
        """Starts the member with these flags and writes its static pod manifest with the same command."""
        command = [
            str(self.etcd_binary),
            f"--name={member.name}",
            f"--data-dir={member.data_dir / 'new.etcd'}",
            f"--listen-client-urls={member.client_url}",
            f"--advertise-client-urls={member.client_url}",
            f"--listen-peer-urls={member.peer_url}",
            f"--initial-advertise-peer-urls={member.peer_url}",
            f"--initial-cluster={initial_cluster}",
            f"--initial-cluster-state={state}",
            "--initial-cluster-token=etcd-main",
            f"--cert-file={member.server_tls[0]}",
            f"--key-file={member.server_tls[1]}",
            f"--trusted-ca-file={self.pki.ca.ca_file}",
            "--client-cert-auth=true",
            f"--peer-cert-file={member.peer_tls[0]}",
            f"--peer-key-file={member.peer_tls[1]}",
            f"--peer-trusted-ca-file={self.pki.peer_ca.ca_file}",
            "--peer-client-cert-auth=true",
            "--heartbeat-interval=50",  # quick elections keep the tests short
            "--election-timeout=500",
        ]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "etcd-main", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "etcd", "image": "localhost/etcd:v3.4.23", "command": command}]},
        }
        member.manifest_path.write_text(yaml.safe_dump(pod))
        member.data_dir.mkdir(mode=0o700, exist_ok=True)
        with member.log_path.open("ab") as log:
            member.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        member.started_with = (initial_cluster, state)

    def stop(self, *members: EtcdMember) -> None:
        running = [member for member in members if member.process is not None]
        for member in running:
            member.process.terminate()
        for member in running:
            try:
                member.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait()
            member.process = None

    def close(self) -> None:
        # SIGKILL: the data goes away anyway, and leaders stopping together wait for a leadership transfer.
        for member in self.members.values():
            if member.process is not None:
                member.process.kill()
                member.process.wait()
                member.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    # Oracles: etcd's own /health and etcdctl, independent of the module's client.

    def wait_healthy(self, *members: EtcdMember, timeout: float = HEALTH_TIMEOUT) -> None:
        context = ssl.create_default_context(cafile=str(self.pki.ca.ca_file))
        context.load_cert_chain(str(self.pki.client_cert), str(self.pki.client_key))
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        deadline = time.monotonic() + timeout
        for member in members:
            last_error = ""
            while True:
                if member.process is None or member.process.poll() is not None:
                    raise AssertionError(f"etcd {member.name} is not running:\n{self.log_tail(member)}")
                try:
                    with opener.open(f"{member.client_url}/health", timeout=2) as response:
                        if json.loads(response.read()).get("health") == "true":
                            break
                        last_error = "health false"
                except OSError as error:
                    last_error = str(error)
                if time.monotonic() > deadline:
                    raise AssertionError(f"etcd {member.name} not healthy: {last_error}\n{self.log_tail(member)}")
                time.sleep(0.1)

    def log_tail(self, member: EtcdMember, lines: int = 20) -> str:
        text = member.log_path.read_text(errors="replace") if member.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def etcdctl_run(
        self, *args: str, endpoints: list[str], with_client_cert: bool = True, timeout: str = "5s"
    ) -> subprocess.CompletedProcess:
        command = [str(self.etcdctl_binary), f"--endpoints={','.join(endpoints)}", f"--cacert={self.pki.ca.ca_file}"]
        if with_client_cert:
            command += [f"--cert={self.pki.client_cert}", f"--key={self.pki.client_key}"]
        command += ["--dial-timeout=2s", f"--command-timeout={timeout}", *args]
        env = {**os.environ, "ETCDCTL_API": "3"}
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, env=env)

    def etcdctl(self, *args: str, endpoints: list[str]) -> str:
        process = self.etcdctl_run(*args, endpoints=endpoints)
        assert process.returncode == 0, process.stdout + process.stderr
        return process.stdout

    def listed_members(self, member: EtcdMember) -> list[dict[str, Any]]:
        """etcdctl's member list, in the module's result format (IDs in hex), sorted by name."""
        listed = json.loads(self.etcdctl("member", "list", "-w", "json", endpoints=[member.client_url]))["members"]
        return sorted(
            (
                {
                    "name": item.get("name", ""),
                    "id": f"{item['ID']:x}",
                    "peer_urls": item.get("peerURLs", []),
                    "client_urls": item.get("clientURLs", []),
                }
                for item in listed
            ),
            key=lambda item: (item["name"], item["peer_urls"]),
        )

    # The module, through ansible-playbook on localhost

    def args(self, member: EtcdMember, **overrides: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "name": member.name,
            "peer_url": member.peer_url,
            "endpoints": [other.client_url for other in self.members.values()],
            "ca_path": str(self.pki.ca.ca_file),
            "cert_path": str(self.pki.client_cert),
            "key_path": str(self.pki.client_key),
            "data_dir": str(member.data_dir),
            "manifest_path": str(member.manifest_path),
        }
        args.update(overrides)
        return {key: value for key, value in args.items() if value is not None}

    def run(self, *steps: tuple[dict[str, Any], dict[str, Any]]) -> list[dict[str, Any]]:
        """One task per (module args, task keywords); every task runs, failures are returned as results."""
        tasks = [{MODULE: args, "ignore_errors": True, **keywords} for args, keywords in steps]
        playbook = self.workdir / "playbook.yml"
        playbook.write_text(
            yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])
        )
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",  # the results as JSON on stdout
            "ANSIBLE_NOCOLOR": "1",
        }
        process = subprocess.run(
            [
                str(ANSIBLE_PLAYBOOK),
                "-i",
                "localhost,",
                "-e",
                f"ansible_python_interpreter={sys.executable}",
                str(playbook),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.last_output = process.stdout + process.stderr
        assert process.returncode == 0, self.last_output
        (play,) = json.loads(process.stdout)["plays"]
        return [task["hosts"]["localhost"] for task in play["tasks"]]
