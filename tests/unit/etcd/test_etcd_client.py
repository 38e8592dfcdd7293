"""The etcd JSON gateway client (plugins/module_utils/_etcd/client.py) against fake gateways on 127.0.0.1.

The real etcd is in tests/integration/etcd; here each endpoint answers exactly what a case needs.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.client import (
    EndpointFailure,
    EtcdClient,
    EtcdError,
    check_endpoint,
    members_from_json,
    tls_context,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import Member

UNHEALTHY = (503, {"error": "etcdserver: unhealthy cluster", "message": "etcdserver: unhealthy cluster", "code": 14})
NOT_ENOUGH_STARTED = (
    500,
    {
        "error": "etcdserver: re-configuration failed due to not enough started members",
        "message": "etcdserver: re-configuration failed due to not enough started members",
        "code": 2,
    },
)
LIST = (
    200,
    {
        "header": {"cluster_id": "6631638817205431667", "member_id": "14701860594202508595"},
        "members": [
            {
                "ID": "14701860594202508595",
                "name": "cp-0",
                "peerURLs": ["https://127.0.0.1:2380"],
                "clientURLs": ["https://127.0.0.1:2379"],
            },
            {"ID": "7582105731728192168", "peerURLs": ["https://127.0.0.2:2380"]},
        ],
    },
)
MEMBERS = [
    Member(14701860594202508595, "cp-0", ("https://127.0.0.1:2380",), ("https://127.0.0.1:2379",)),
    Member(7582105731728192168, "", ("https://127.0.0.2:2380",)),
]


def _issue(directory: Path, name: str, issuer: tuple[x509.Certificate, Any] | None = None) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (directory / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate, key


class FakeGateway:
    """An https server on 127.0.0.1 that answers every POST with `answer` and records the requests."""

    def __init__(self, pki: Path, answer: tuple[int, dict[str, Any]]) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append((self.path, body))
                data = json.dumps(answer[1]).encode()
                self.send_response(answer[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki / "server.crt", pki / "server.key")
        context.load_verify_locations(pki / "ca.crt")
        context.verify_mode = ssl.CERT_REQUIRED  # like etcd's --client-cert-auth
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    ca = _issue(directory, "ca")
    _issue(directory, "server", ca)
    _issue(directory, "client", ca)
    _issue(directory, "other-ca")
    return directory


@pytest.fixture
def gateways(pki: Path) -> Iterator[Any]:
    started: list[FakeGateway] = []

    def start(answer: tuple[int, dict[str, Any]]) -> FakeGateway:
        started.append(FakeGateway(pki, answer))
        return started[-1]

    yield start
    for gateway in started:
        gateway.close()


def client_for(pki: Path, *endpoints: str, timeout: float = 5.0) -> EtcdClient:
    return EtcdClient(
        endpoints, tls_context(str(pki / "ca.crt"), str(pki / "client.crt"), str(pki / "client.key")), timeout
    )


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"https://127.0.0.1:{probe.getsockname()[1]}"


def test_member_list_add_remove_on_the_wire(pki: Path, gateways: Any) -> None:
    gateway = gateways(LIST)
    client = client_for(pki, gateway.url)
    assert client.member_list() == MEMBERS
    assert client.member_add(["https://127.0.0.2:2380"]) == MEMBERS
    assert client.member_remove(7582105731728192168) == MEMBERS
    assert gateway.requests == [
        ("/v3/cluster/member/list", {}),
        ("/v3/cluster/member/add", {"peerURLs": ["https://127.0.0.2:2380"]}),
        ("/v3/cluster/member/remove", {"ID": "7582105731728192168"}),  # uint64 as a decimal string
    ]


def test_endpoints_are_tried_in_order_until_one_answers(pki: Path, gateways: Any) -> None:
    refused = closed_port()
    gateway = gateways(LIST)
    assert client_for(pki, refused, gateway.url).member_list() == MEMBERS


def test_unavailable_goes_on_to_the_next_member_other_errors_stop(pki: Path, gateways: Any) -> None:
    unhealthy, refusing, last = gateways(UNHEALTHY), gateways(NOT_ENOUGH_STARTED), gateways(LIST)
    with pytest.raises(EtcdError) as raised:
        client_for(pki, unhealthy.url, refusing.url, last.url).member_add(["https://127.0.0.3:2380"])
    assert not last.requests
    assert raised.value.failures == (
        EndpointFailure(unhealthy.url, "HTTP 503: etcdserver: unhealthy cluster", True, 14),
        EndpointFailure(
            refusing.url, "HTTP 500: etcdserver: re-configuration failed due to not enough started members", True, 2
        ),
    )
    assert raised.value.transient  # one member said "unavailable": worth asking again
    assert str(raised.value) == (
        f"etcd member add failed: {unhealthy.url}: HTTP 503: etcdserver: unhealthy cluster; "
        f"{refusing.url}: HTTP 500: etcdserver: re-configuration failed due to not enough started members"
    )
    with pytest.raises(EtcdError) as raised:
        client_for(pki, refusing.url).member_add(["https://127.0.0.3:2380"])
    assert not raised.value.transient


def test_refused_means_nothing_answered(pki: Path) -> None:
    endpoints = [closed_port(), closed_port()]
    with pytest.raises(EtcdError) as raised:
        client_for(pki, *endpoints).member_list()
    assert not raised.value.answered
    assert str(raised.value) == (
        f"etcd member list failed: {endpoints[0]}: connection refused; {endpoints[1]}: connection refused"
    )


def test_silent_listener_is_a_timeout_of_something_that_answered(pki: Path) -> None:
    # The kernel completes the TCP handshake for the backlog; nobody ever speaks TLS.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        endpoint = f"https://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(EtcdError) as raised:
            client_for(pki, endpoint, timeout=0.5).member_list()
    assert raised.value.failures == (EndpointFailure(endpoint, "timeout: no answer within 0.5 s", True),)
    assert raised.value.answered


def test_tls_failures_name_the_endpoint_and_count_as_answered(pki: Path, gateways: Any) -> None:
    gateway = gateways(LIST)
    foreign = EtcdClient(
        [gateway.url], tls_context(str(pki / "other-ca.crt"), str(pki / "client.crt"), str(pki / "client.key")), 5
    )
    with pytest.raises(EtcdError, match=rf"{gateway.url}: TLS: certificate verify failed: ") as raised:
        foreign.member_list()
    assert raised.value.answered
    # A client certificate the server does not trust: refused by the server during the handshake.
    untrusted = EtcdClient(
        [gateway.url], tls_context(str(pki / "ca.crt"), str(pki / "other-ca.crt"), str(pki / "other-ca.key")), 5
    )
    with pytest.raises(EtcdError, match=rf"{gateway.url}: ") as raised:
        untrusted.member_list()
    assert raised.value.answered
    assert "PRIVATE KEY" not in str(raised.value)
    assert not gateway.requests


def test_no_endpoints() -> None:
    with pytest.raises(EtcdError, match="etcd member list: no endpoint to ask") as raised:
        EtcdClient([], ssl.create_default_context(), 1).member_list()
    assert not raised.value.answered


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:2379", "https://127.0.0.1", "127.0.0.1:2379", "https://127.0.0.1:2379/v3", "https://:2379"],
)
def test_endpoints_must_be_https_host_port(endpoint: str) -> None:
    with pytest.raises(ValueError, match="must be https://<host>:<port>"):
        check_endpoint(endpoint)
    with pytest.raises(ValueError, match="must be https://<host>:<port>"):
        EtcdClient([endpoint], ssl.create_default_context(), 1)


def test_endpoint_hosts_and_ports() -> None:
    assert check_endpoint("https://10.0.0.10:2379") == ("10.0.0.10", 2379)
    assert check_endpoint("https://[fd00::10]:2382/") == ("fd00::10", 2382)
    assert check_endpoint("https://cp-0.local:2379") == ("cp-0.local", 2379)


def test_members_from_json_without_members() -> None:
    assert members_from_json({"header": {}}) == []
