"""A real bootstrap cluster: etcd 3.4 and kube-apiserver v1.20.2 on 127.0.0.1, with Gardener's
extension and machine CRDs installed, and optionally kube-controller-manager v1.20.2 (the namespace,
garbage collector and service account controllers: deleted namespaces go away, owned objects are
collected). Tests and hack/bootstrap-cluster.py share this engine.

    with start_bootstrap_apiserver() as api:   # tests: everything in a temporary directory
        api.client.apply({...})            # a ready KubeClient (admin client certificate)
        KubeClient.from_kubeconfig(api.kubeconfig_path)

    api = bring_up(directory, CRDS_DIR, port=6643, detached=True, controller_manager=True)   # outlives its starter

bring_up keeps every file in the directory it is given (certificates, etcd data, logs) and stops what
it started when it fails; start_bootstrap_apiserver removes its temporary directory at the end and
stops every process it started. The binaries come from the cache that hack/build-kubernetes.sh and
hack/build-bundle.sh fill; when they are missing, SubstrateMissing says which script to run. The CRDs
are read from ../shared/gardener-crds at every start and sanitized for a v1.20 API
(test-substrate.md section 7), never copied into the repository.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KindNotServed
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    READY,
    WAIT,
    Verdict,
    condition,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter

REPO_ROOT = Path(__file__).resolve().parents[2]
CRDS_DIR = REPO_ROOT.parent / "shared" / "gardener-crds"
KUBERNETES_VERSION = "v1.20.2"
CACHE_DIR = Path(
    os.environ.get("GARDENER_AUTONOMOUS_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gardener-autonomous"
)
STARTUP_TIMEOUT = 60.0
# Only what a bootstrap cluster needs: namespace deletion, garbage collection and the credentials the
# controllers run with (--use-service-account-credentials). Neither CSR signing nor approval: tests of the
# collection's own CSR handling must not race a controller.
CONTROLLERS = ("namespace", "garbagecollector", "serviceaccount-token", "serviceaccount")
TEST_VALIDITY = datetime.timedelta(days=1)
CRD_API_VERSION = "apiextensions.k8s.io/v1"


class SubstrateMissing(RuntimeError):
    """A binary (not built into the cache yet) or the CRDs directory is missing."""


class StartupFailed(RuntimeError):
    """A process did not come up; the message ends with the tail of the logs."""


@dataclass
class BootstrapApiserver:
    """A running bootstrap cluster. ``client`` is for the test's own thread; threads use ``new_client``."""

    server: str
    kubeconfig: dict[str, Any]  # admin (system:masters) client certificate, data inline
    kubeconfig_path: Path  # the same, as a 0600 file
    client: KubeClient
    ca_pem: str  # the CA of the serving certificate (and of client certificates)
    pki: Pki  # issues further client certificates the API server trusts (e.g. a node's)
    token: str  # static bearer token of a system:masters user (--token-auth-file)
    startup_seconds: float  # from start to CRDs served (and the controllers running, with kube-controller-manager)
    processes: list[subprocess.Popen]  # etcd, kube-apiserver[, kube-controller-manager]
    crd_kinds: dict[str, list[str]] = field(default_factory=dict)  # apiVersion -> kinds installed

    def new_client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.kubeconfig)

    def create_namespace(self, prefix: str = "test") -> str:
        """A namespace with a unique name. Never deleted: without kube-controller-manager (the default) a
        deleted namespace stays Terminating, and the whole cluster goes away at the end anyway."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name


def binaries() -> dict[str, Path]:
    """The paths of the binaries, or SubstrateMissing naming the script that builds them."""
    kubernetes_bin = CACHE_DIR / "kubernetes" / KUBERNETES_VERSION / "bin"
    bundle_dir_file = CACHE_DIR / "bundle-dir"
    bundle_bin = Path(bundle_dir_file.read_text().strip()) / "bin" if bundle_dir_file.is_file() else None
    found = {
        "kube-apiserver": (kubernetes_bin / "kube-apiserver", "hack/build-kubernetes.sh"),
        "etcd": (bundle_bin / "etcd" if bundle_bin else bundle_dir_file, "hack/build-bundle.sh"),
        "kube-controller-manager": (kubernetes_bin / "kube-controller-manager", "hack/build-kubernetes.sh"),
    }
    for name, (path, script) in found.items():
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SubstrateMissing(f"{name} is missing (looked for {path}): run {script} first")
    return {name: path for name, (path, _script) in found.items()}


@contextmanager
def start_bootstrap_apiserver(
    crds_dir: Path = CRDS_DIR, *, controller_manager: bool = False
) -> Iterator[BootstrapApiserver]:
    # tmpfs when there is one: etcd fsyncs every write.
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    workdir = Path(tempfile.mkdtemp(prefix="bootstrap-apiserver-", dir=memory))
    api: Optional[BootstrapApiserver] = None
    try:
        api = bring_up(workdir, crds_dir, port=free_port(), controller_manager=controller_manager)
        yield api
    finally:
        if api is not None:
            api.client.close()
            for process in reversed(api.processes):
                _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def bring_up(
    directory: Path,
    crds_dir: Path,
    *,
    port: int,
    detached: bool = False,
    validity: datetime.timedelta = TEST_VALIDITY,
    controller_manager: bool = False,
) -> BootstrapApiserver:
    """Starts etcd and kube-apiserver (on 127.0.0.1:``port``) with their files in ``directory``, waits
    until the CRDs are served and writes the admin kubeconfig (0600) to ``directory/admin.kubeconfig``.

    With ``controller_manager``, kube-controller-manager (``CONTROLLERS`` only) starts once the CRDs are
    served, so that its garbage collector knows them from the start; it is ready when its service account
    controller has created the ServiceAccount ``default/default``. ``detached`` processes run in their own
    session, so that they outlive the caller; certificates are valid for ``validity``. Whatever was started
    is stopped again when this fails.
    """
    started = time.monotonic()
    paths = binaries()
    if not sorted(crds_dir.glob("*.yaml")):
        raise SubstrateMissing(f"no Gardener CRDs in {crds_dir}")
    processes: list[subprocess.Popen] = []
    client: Optional[KubeClient] = None
    try:
        pki = Pki(directory, validity)
        etcd_url = f"https://127.0.0.1:{free_port()}"
        processes.append(_start_etcd(paths["etcd"], directory, pki, etcd_url, detached=detached))
        processes.append(_start_apiserver(paths["kube-apiserver"], directory, pki, etcd_url, port, detached=detached))
        server = f"https://127.0.0.1:{port}"
        crds = _read_crds(crds_dir)  # while the API server starts
        _wait_ready(server, pki, processes, directory)
        kubeconfig = _admin_kubeconfig(server, pki)
        kubeconfig_path = directory / "admin.kubeconfig"
        kubeconfig_path.touch(mode=0o600)
        kubeconfig_path.write_text(yaml.safe_dump(kubeconfig))
        client = KubeClient.from_kubeconfig(kubeconfig)
        crd_kinds = _install_crds(client, crds)
        if controller_manager:
            processes.append(
                _start_controller_manager(paths["kube-controller-manager"], directory, pki, server, detached=detached)
            )
            _wait_controllers_running(client, processes, directory)
    except BaseException:
        if client is not None:
            client.close()
        for process in reversed(processes):
            _stop(process)
        raise
    return BootstrapApiserver(
        server=server,
        kubeconfig=kubeconfig,
        kubeconfig_path=kubeconfig_path,
        client=client,
        ca_pem=pki.ca_pem,
        pki=pki,
        token=pki.admin_token,
        startup_seconds=time.monotonic() - started,
        processes=processes,
        crd_kinds=crd_kinds,
    )


# Certificates


class Pki:
    """A CA (EC P-256: fast to generate) that issues certificates; files go into ``workdir/pki``."""

    def __init__(self, workdir: Path, validity: datetime.timedelta = TEST_VALIDITY) -> None:
        self.directory = workdir / "pki"
        self.directory.mkdir(mode=0o700)
        self._validity = validity
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bootstrap-apiserver-test-ca")])
        self._ca_cert = (
            _builder(name, name, self._ca_key.public_key(), validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        self.ca_pem = self._ca_cert.public_bytes(serialization.Encoding.PEM).decode()
        self.ca_file = self._write("ca.crt", self.ca_pem)
        self.admin_token = uuid.uuid4().hex
        self.token_file = self._write("tokens.csv", f'{self.admin_token},token-admin,token-admin,"system:masters"\n')
        service_account_key = ec.generate_private_key(ec.SECP256R1())
        self.service_account_key_file = self._write("sa.key", _private_pem(service_account_key))
        self.service_account_pub_file = self._write(
            "sa.pub",
            service_account_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        )

    def issue(self, name: str, common_name: str, *, organization: str = "", serving: bool = False) -> tuple[Path, Path]:
        """Writes ``name.crt`` and ``name.key``; serving certificates are valid for 127.0.0.1 and localhost."""
        cert_pem, key_pem = self.issue_pem(common_name, organization=organization, serving=serving)
        return self._write(f"{name}.crt", cert_pem), self._write(f"{name}.key", key_pem)

    def issue_pem(self, common_name: str, *, organization: str = "", serving: bool = False) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if serving else [])
        builder = _builder(
            x509.Name(attributes), self._ca_cert.subject, key.public_key(), self._validity
        ).add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if serving:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), _private_pem(key)

    def _write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.touch(mode=0o600)
        path.write_text(text)
        return path


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, validity: datetime.timedelta
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# Processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_etcd(binary: Path, workdir: Path, pki: Pki, url: str, *, detached: bool) -> subprocess.Popen:
    cert, key = pki.issue("etcd-server", "etcd-server", serving=True)
    peer_url = f"http://127.0.0.1:{free_port()}"  # single member: no peer traffic, but it must bind somewhere
    args = [
        str(binary),
        "--name=default",
        f"--data-dir={workdir / 'etcd'}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=default={peer_url}",
        f"--cert-file={cert}",
        f"--key-file={key}",
        f"--trusted-ca-file={pki.ca_file}",
        "--client-cert-auth=true",
    ]
    return _spawn(args, workdir / "etcd.log", detached)


def _start_apiserver(
    binary: Path, workdir: Path, pki: Pki, etcd_url: str, port: int, *, detached: bool
) -> subprocess.Popen:
    serving_cert, serving_key = pki.issue("kube-apiserver", "kube-apiserver", serving=True)
    etcd_cert, etcd_key = pki.issue("kube-apiserver-etcd-client", "kube-apiserver-etcd-client")
    args = [
        str(binary),
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        "--insecure-port=0",  # 1.20 still opens an insecure port by default
        f"--cert-dir={workdir / 'apiserver-certs'}",
        f"--tls-cert-file={serving_cert}",
        f"--tls-private-key-file={serving_key}",
        f"--client-ca-file={pki.ca_file}",
        f"--token-auth-file={pki.token_file}",
        "--enable-bootstrap-token-auth",  # Secrets kube-system/bootstrap-token-<id> authenticate
        "--anonymous-auth=false",
        "--authorization-mode=RBAC",
        f"--etcd-servers={etcd_url}",
        f"--etcd-cafile={pki.ca_file}",
        f"--etcd-certfile={etcd_cert}",
        f"--etcd-keyfile={etcd_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.service_account_pub_file}",
        f"--service-account-signing-key-file={pki.service_account_key_file}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--endpoint-reconciler-type=none",  # no kubernetes Service endpoints to maintain in a test
        "--profiling=false",
    ]
    return _spawn(args, workdir / "kube-apiserver.log", detached)


def _start_controller_manager(
    binary: Path, workdir: Path, pki: Pki, server: str, *, detached: bool
) -> subprocess.Popen:
    cert, key = pki.issue("kube-controller-manager", "system:kube-controller-manager")  # RBAC's built-in user
    # Served with a certificate of the test CA rather than a self-signed one it would generate on every start.
    serving_cert, serving_key = pki.issue("kube-controller-manager-server", "kube-controller-manager", serving=True)
    kubeconfig = workdir / "kube-controller-manager.kubeconfig"
    kubeconfig.touch(mode=0o600)
    kubeconfig.write_text(yaml.safe_dump(_file_kubeconfig(server, pki.ca_file, cert, key)))
    args = [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--port=0",  # 1.20 still opens an insecure port by default
        "--bind-address=127.0.0.1",
        f"--secure-port={free_port()}",
        f"--tls-cert-file={serving_cert}",
        f"--tls-private-key-file={serving_key}",
        f"--controllers={','.join(CONTROLLERS)}",
        "--leader-elect=false",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.service_account_key_file}",
        f"--root-ca-file={pki.ca_file}",
        "--profiling=false",
    ]
    return _spawn(args, workdir / "kube-controller-manager.log", detached)


def _file_kubeconfig(server: str, ca_file: Path, cert: Path, key: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "bootstrap",
        "clusters": [{"name": "bootstrap", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": "user", "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "bootstrap", "context": {"cluster": "bootstrap", "user": "user"}}],
    }


def _spawn(args: list[str], log: Path, detached: bool) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=detached
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: str, pki: Pki, processes: list[subprocess.Popen], workdir: Path) -> None:
    """Polls /readyz with the admin certificate (nothing to watch before the API is up)."""
    cert, key = pki.issue("readyz-probe", "readyz-probe", organization="system:masters")
    tls = ssl.create_default_context(cafile=str(pki.ca_file))
    tls.load_cert_chain(str(cert), str(key))
    port = int(server.rsplit(":", 1)[1])
    deadline = time.monotonic() + STARTUP_TIMEOUT
    answer = "no answer"
    while time.monotonic() < deadline:
        _check_running(processes, workdir)
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=5)
        try:
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            answer = f"{response.status} {response.read().decode(errors='replace')}"
            if response.status == 200:
                return
        except OSError as error:
            answer = str(error)
        finally:
            connection.close()
        time.sleep(0.1)
    raise StartupFailed(f"{server}/readyz not ok after {STARTUP_TIMEOUT}s: {answer}" + _logs(workdir))


def _wait_controllers_running(client: KubeClient, processes: list[subprocess.Popen], workdir: Path) -> None:
    """Polls for ServiceAccount default/default: the controllers run, with their own credentials."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        _check_running(processes, workdir)
        if client.get("v1", "ServiceAccount", "default", "default") is not None:
            return
        time.sleep(0.1)
    raise StartupFailed(
        f"kube-controller-manager created no ServiceAccount default/default in {STARTUP_TIMEOUT}s" + _logs(workdir)
    )


def _check_running(processes: list[subprocess.Popen], workdir: Path) -> None:
    for process in processes:
        if process.poll() is not None:
            raise StartupFailed(f"{Path(process.args[0]).name} exited with {process.returncode}" + _logs(workdir))


def _logs(workdir: Path) -> str:
    tails = []
    for log in sorted(workdir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-25:]
        tails.append(f"\n--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
    return "".join(tails)


def _admin_kubeconfig(server: str, pki: Pki) -> dict[str, Any]:
    cert_pem, key_pem = pki.issue_pem("admin", organization="system:masters")

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    cluster = {"server": server, "certificate-authority-data": b64(pki.ca_pem)}
    user = {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "bootstrap",
        "clusters": [{"name": "bootstrap", "cluster": cluster}],
        "users": [{"name": "admin", "user": user}],
        "contexts": [{"name": "bootstrap", "context": {"cluster": "bootstrap", "user": "admin"}}],
    }


# CRDs


def sanitize_crd(document: Any) -> Any:
    """What a v1.20 API rejects in today's CRDs, removed: CEL rules (1.25+) and null defaults.

    1.20 reads an empty-string default (Worker ``userDataSecretRef.name``) as null and rejects it
    ("default: Invalid value: "null""), so those go as well.
    """
    if isinstance(document, Mapping):
        return {
            key: sanitize_crd(value)
            for key, value in document.items()
            if key != "x-kubernetes-validations" and not (key == "default" and value in (None, ""))
        }
    if isinstance(document, list):
        return [sanitize_crd(item) for item in document]
    return document


def _read_crds(crds_dir: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the big schemas 10x faster
    return [sanitize_crd(yaml.load(path.read_text(), Loader=loader)) for path in sorted(crds_dir.glob("*.yaml"))]  # noqa: S506


def _install_crds(client: KubeClient, crds: list[dict[str, Any]]) -> dict[str, list[str]]:
    for crd in crds:
        client.create(crd)
    waiter = Waiter(client, _crd_established)
    for crd in crds:
        result = waiter.wait(CRD_API_VERSION, "CustomResourceDefinition", crd["metadata"]["name"], timeout=30)
        if not result.ok:
            raise StartupFailed(f"CRD {crd['metadata']['name']}: {result.reason}")
    kinds: dict[str, list[str]] = {}
    for crd in crds:
        for version in crd["spec"]["versions"]:
            kinds.setdefault(f"{crd['spec']['group']}/{version['name']}", []).append(crd["spec"]["names"]["kind"])
    _wait_discovered(client, kinds)
    return kinds


def _crd_established(obj: Optional[Mapping[str, Any]]) -> Verdict:
    established = condition(obj, "Established") if obj else None
    if established and established.get("status") == "True":
        return Verdict(READY)
    return Verdict(WAIT, "not Established yet")


def _wait_discovered(client: KubeClient, kinds: Mapping[str, list[str]]) -> None:
    # Established comes a moment before discovery lists the kind; the client looks again on a miss.
    deadline = time.monotonic() + 30
    for api_version, names in kinds.items():
        for kind in names:
            while True:
                try:
                    client.resource_for(api_version, kind)
                    break
                except KindNotServed:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
