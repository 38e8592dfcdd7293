"""The key material of a created state, checked with cryptography and with openssl as independent verifiers."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_cluster import NOW, cluster_spec

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.material import ca_cert_hash
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.reconcile import ReconcileResult

EKUS = {
    "server": {ExtendedKeyUsageOID.SERVER_AUTH},
    "client": {ExtendedKeyUsageOID.CLIENT_AUTH},
    "peer": {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH},
}
SOON = NOW + timedelta(hours=1)


def certificate(result: ReconcileResult, name: str, key: str = "tls.crt") -> x509.Certificate:
    return x509.load_pem_x509_certificate(result.secrets()[name][key].encode())


def private_key(result: ReconcileResult, name: str, key: str) -> PrivateKeyTypes:
    return serialization.load_pem_private_key(result.secrets()[name][key].encode(), password=None)


def spki(public_key: object) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("name", ["ca", "ca-etcd", "ca-kubelet"])
def test_authorities_are_self_signed_p256_cas(created: ReconcileResult, name: str) -> None:
    ca = certificate(created, name, "ca.crt")
    key = private_key(created, name, "ca.key")

    assert created.secrets()[name]["ca.key"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert spki(ca.public_key()) == spki(key.public_key())
    ca.verify_directly_issued_by(ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.key_cert_sign, usage.crl_sign, usage.digital_signature) == (True, True, True)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    assert ca.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert ca.not_valid_after_utc == NOW + timedelta(days=3650)


@pytest.mark.parametrize("spec", cluster_spec()["certificates"], ids=lambda spec: spec["name"])
def test_certificates_chain_to_their_authority_with_their_usage_and_sans(
    created: ReconcileResult, spec: dict[str, object]
) -> None:
    leaf = certificate(created, spec["name"])
    ca = certificate(created, spec["ca"], "ca.crt")
    key = private_key(created, spec["name"], "tls.key")

    leaf.verify_directly_issued_by(ca)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert spki(leaf.public_key()) == spki(key.public_key())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == spec["common_name"]
    organizations = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert organizations == spec.get("organizations", [])
    assert set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == EKUS[spec["usage"]]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not (usage.value.key_encipherment or usage.value.key_cert_sign)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    authority_key_id = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert authority_key_id == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert 0 < leaf.serial_number < 2**128
    assert leaf.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert leaf.not_valid_after_utc == NOW + timedelta(days=365)
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        assert not spec.get("dns_names") and not spec.get("ip_addresses")
        return
    assert set(names.get_values_for_type(x509.DNSName)) == set(spec.get("dns_names", []))
    assert set(names.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address(a) for a in spec["ip_addresses"]}


def test_serials_are_random(created: ReconcileResult) -> None:
    serials = {certificate(created, spec["name"]).serial_number for spec in cluster_spec()["certificates"]}
    assert len(serials) == len(cluster_spec()["certificates"])


@pytest.mark.parametrize(
    "subject",
    [
        x509.DNSName("api.example.com"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("10.252.0.1")),
    ],
)
def test_server_certificate_passes_path_validation(created: ReconcileResult, subject: x509.GeneralName) -> None:
    store = verification.Store([certificate(created, "ca", "ca.crt")])
    verifier = verification.PolicyBuilder().store(store).time(SOON).build_server_verifier(subject)

    chain = verifier.verify(certificate(created, "kube-apiserver"), [])

    assert chain[-1] == certificate(created, "ca", "ca.crt")


def test_server_certificate_fails_path_validation_for_other_names(created: ReconcileResult) -> None:
    store = verification.Store([certificate(created, "ca", "ca.crt")])
    verifier = verification.PolicyBuilder().store(store).time(SOON).build_server_verifier(x509.DNSName("evil.com"))

    with pytest.raises(verification.VerificationError):
        verifier.verify(certificate(created, "kube-apiserver"), [])


def test_peer_certificate_passes_client_path_validation(created: ReconcileResult) -> None:
    # cryptography's client policy (Web PKI) wants a SAN, which etcd peer certificates have.
    store = verification.Store([certificate(created, "ca-etcd", "ca.crt")])
    verifier = verification.PolicyBuilder().store(store).time(SOON).build_client_verifier()

    verified = verifier.verify(certificate(created, "etcd-peer-cp-1"), [])

    assert verified.chain[-1] == certificate(created, "ca-etcd", "ca.crt")


def openssl_verify(
    tmp_path: Path, result: ReconcileResult, ca: str, leaf: str, purpose: str
) -> subprocess.CompletedProcess:
    (tmp_path / "ca.crt").write_text(result.secrets()[ca]["ca.crt"])
    (tmp_path / "leaf.crt").write_text(result.secrets()[leaf]["tls.crt"])
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-attime",
            str(int(SOON.timestamp())),
            "-purpose",
            purpose,
            "-x509_strict",
            "-CAfile",
            str(tmp_path / "ca.crt"),
            str(tmp_path / "leaf.crt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("ca", "leaf", "purpose"),
    [
        ("ca", "kube-apiserver", "sslserver"),
        ("ca-etcd", "etcd-peer-cp-1", "sslserver"),
        ("ca-etcd", "etcd-peer-cp-1", "sslclient"),
        ("ca", "admin", "sslclient"),
    ],
)
def test_openssl_verifies_the_chains(
    tmp_path: Path, created: ReconcileResult, ca: str, leaf: str, purpose: str
) -> None:
    verified = openssl_verify(tmp_path, created, ca, leaf, purpose)

    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().endswith(": OK")


@pytest.mark.parametrize(
    ("ca", "leaf", "purpose"),
    [("ca-etcd", "kube-apiserver", "sslserver"), ("ca", "admin", "sslserver"), ("ca", "kube-apiserver", "sslclient")],
)
def test_openssl_rejects_wrong_chains_and_purposes(
    tmp_path: Path, created: ReconcileResult, ca: str, leaf: str, purpose: str
) -> None:
    assert openssl_verify(tmp_path, created, ca, leaf, purpose).returncode != 0


def test_ca_cert_hash_matches_the_kubeadm_recipe(tmp_path: Path, created: ReconcileResult) -> None:
    # kubeadm's documented way: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum
    ca_pem = created.secrets()["ca"]["ca.crt"].encode()
    public_pem = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=ca_pem, capture_output=True, check=True)
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=public_pem.stdout, capture_output=True, check=True
    ).stdout

    assert ca_cert_hash(ca_pem) == "sha256:" + hashlib.sha256(der).hexdigest()


def test_service_account_key_is_rsa_3072_in_pem(created: ReconcileResult) -> None:
    data = created.secrets()["service-account-key"]
    key = private_key(created, "service-account-key", "id_rsa")
    public = serialization.load_pem_public_key(data["id_rsa.pub"].encode())

    assert set(data) == {"id_rsa", "id_rsa.pub"}
    assert data["id_rsa"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert data["id_rsa.pub"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072
    assert spki(public) == spki(key.public_key())


def test_ssh_key_pair_is_rsa_3072_in_openssh_and_authorized_keys_format(created: ReconcileResult) -> None:
    data = created.secrets()["ssh-keypair"]
    key = serialization.load_ssh_private_key(data["id_rsa"].encode(), password=None)
    public = serialization.load_ssh_public_key(data["id_rsa.pub"].encode())

    assert set(data) == {"id_rsa", "id_rsa.pub"}
    assert data["id_rsa"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert re.fullmatch(r"ssh-rsa AAAA[A-Za-z0-9+/]+=*\n", data["id_rsa.pub"])  # one authorized_keys line
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072
    assert spki(public) == spki(key.public_key())


def test_ssh_keygen_derives_the_stored_public_key(tmp_path: Path, created: ReconcileResult) -> None:
    data = created.secrets()["ssh-keypair"]
    private_key = tmp_path / "id_rsa"
    private_key.touch(mode=0o600)  # ssh-keygen refuses keys that others may read
    private_key.write_text(data["id_rsa"])

    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private_key)], capture_output=True, text=True, check=True)

    assert derived.stdout == data["id_rsa.pub"]


def test_encryption_key_is_a_named_32_byte_aescbc_secret(created: ReconcileResult) -> None:
    data = created.secrets()["kube-apiserver-etcd-encryption-key"]

    assert set(data) == {"key", "secret"}
    assert data["key"] == f"key{int(NOW.timestamp())}"
    assert len(base64.b64decode(data["secret"], validate=True)) == 32


def test_static_token_is_a_token_csv_with_one_key_per_user(created: ReconcileResult) -> None:
    data = created.secrets()["kube-apiserver-static-token"]

    assert set(data) == {"static_tokens.csv", "health-check"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", data["health-check"])
    assert data["static_tokens.csv"] == f"{data['health-check']},health-check,health-check\n"


def test_every_machine_gets_different_material_per_cluster(
    created: ReconcileResult, other_cluster: ReconcileResult
) -> None:
    mine, theirs = created.secrets(), other_cluster.secrets()
    assert all(mine[name] != theirs[name] for name in mine)
