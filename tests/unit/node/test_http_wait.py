"""Waiting for a health endpoint (plugins/module_utils/_node/http_wait.py), over HTTP and HTTPS on 127.0.0.1."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
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

from ansible_collections.gardener.autonomous.plugins.module_utils._node import http_wait


def issue(path: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None) -> Any:
    """Writes <name>.crt and <name>.key; self-signed CA when no issuer is given."""
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
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    certificate = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (path / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (path / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate, key


class Server:
    def __init__(self, status: int, context: ssl.SSLContext | None = None) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/healthz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca = issue(tmp_path, "ca")
    issue(tmp_path, "server", ca)
    issue(tmp_path, "client", ca)
    return tmp_path


@pytest.fixture
def https(pki: Path) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    server = Server(200, context)
    yield server
    server.stop()


@pytest.fixture
def mutual_tls(pki: Path) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    context.load_verify_locations(pki / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    server = Server(200, context)
    yield server
    server.stop()


def wait(url: str, context: ssl.SSLContext, timeout: float = 0.6) -> float:
    return http_wait.wait_for_ok(url, timeout, context, interval=0.1)


def test_https_with_the_servers_ca(https: Server, pki: Path) -> None:
    assert wait(https.url, http_wait.ssl_context(True, str(pki / "ca.crt"))) < 0.6


def test_https_without_the_ca_fails_verification(https: Server) -> None:
    with pytest.raises(http_wait.WaitTimeout) as error:
        wait(https.url, http_wait.ssl_context(True))
    assert "CERTIFICATE_VERIFY_FAILED" in error.value.last_error
    assert str(error.value).startswith(f"{https.url} did not answer 200 within 0.6 s; last error: ")


def test_https_without_verification(https: Server) -> None:
    assert wait(https.url, http_wait.ssl_context(False)) < 0.6


def test_client_certificates(mutual_tls: Server, pki: Path) -> None:
    with_client = http_wait.ssl_context(True, str(pki / "ca.crt"), str(pki / "client.crt"), str(pki / "client.key"))
    assert wait(mutual_tls.url, with_client) < 0.6
    with pytest.raises(http_wait.WaitTimeout):
        wait(mutual_tls.url, http_wait.ssl_context(True, str(pki / "ca.crt")))


@pytest.mark.parametrize(("status", "expected"), [(204, "HTTP 204"), (500, "HTTP 500 Internal Server Error")])
def test_only_200_counts(status: int, expected: str) -> None:
    server = Server(status)
    try:
        with pytest.raises(http_wait.WaitTimeout) as error:
            wait(server.url, http_wait.ssl_context(True))
        assert error.value.last_error == expected
    finally:
        server.stop()


def test_connection_refused_is_the_last_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the test polls it
    with pytest.raises(http_wait.WaitTimeout) as error:
        wait(f"http://127.0.0.1:{port}/healthz", http_wait.ssl_context(True), timeout=0.3)
    assert "refused" in error.value.last_error.lower()


def test_unreadable_client_certificate_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        http_wait.ssl_context(True, None, str(tmp_path / "missing.crt"), str(tmp_path / "missing.key"))
