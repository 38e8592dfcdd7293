# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Key material: keys, CAs and certificates with ``cryptography``.

Fixed choices: ECDSA P-256 for CAs and certificates, RSA 3072 for the service-account key and the SSH key
pair; private keys are unencrypted PEM in TraditionalOpenSSL form, the SSH one in OpenSSH form (the state
file is root-only, 0600).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import sys
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # the plugins that use _pki check HAS_CRYPTOGRAPHY first; module_utils must import without it
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
    _USAGE_EKUS = {
        "server": (ExtendedKeyUsageOID.SERVER_AUTH,),
        "client": (ExtendedKeyUsageOID.CLIENT_AUTH,),
        "peer": (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    }

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.spec import CertificateSpec

# Certificates start a little in the past so that machines whose clocks lag accept them at once.
CLOCK_SKEW = timedelta(minutes=5)
RSA_KEY_SIZE = 3072
_SERIAL_LIMIT = 2**128  # serials are random, positive and at most 128 bits


def missing_cryptography(plugin: str) -> str:
    """What a controller plugin fails with when ``cryptography`` cannot be imported (not HAS_CRYPTOGRAPHY)."""
    reason = (CRYPTOGRAPHY_IMPORT_ERROR or "").strip().splitlines()[-1:] or [""]
    return (
        f"{plugin} needs the Python library cryptography (>= 42.0.0) on the controller, in the Python that runs "
        f"Ansible ({sys.executable}); install it there (pip install cryptography, Debian: python3-cryptography). "
        f"{reason[0]}"
    ).strip()


@dataclass(frozen=True)
class Authority:
    """A CA that can sign: its certificate and private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class PemPair:
    certificate: bytes
    key: bytes


def create_authority(common_name: str, now: datetime, validity_days: int) -> PemPair:
    """A self-signed CA (BasicConstraints CA=true, keyCertSign + cRLSign + digitalSignature, SKI)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        _builder(subject, subject, key.public_key(), now, validity_days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return PemPair(_certificate_pem(certificate), _private_key_pem(key))


def issue_certificate(spec: CertificateSpec, authority: Authority, now: datetime, validity_days: int) -> PemPair:
    """A certificate with a fresh key, signed by ``authority``, with the subject, SANs and usage of ``spec``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization) for organization in spec.organizations]
        + [x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name)]
    )
    authority_ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _builder(subject, authority.certificate.subject, key.public_key(), now, validity_days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(_USAGE_EKUS[spec.usage])), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority_ski), critical=False)
    )
    names = [x509.DNSName(name) for name in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in spec.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return PemPair(_certificate_pem(builder.sign(authority.key, hashes.SHA256())), _private_key_pem(key))


def load_authority(pair: PemPair, now: datetime) -> Authority:
    """Load a stored CA; raise ``ValueError`` saying why it cannot sign (never quoting the material)."""
    certificate, key = load_certificate(pair)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("its private key is not an ECDSA key")
    if not public_keys_match(certificate, key):
        raise ValueError("its private key does not belong to its certificate")
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ValueError("its certificate is not a CA certificate")
    if certificate.not_valid_after_utc <= now:
        raise ValueError(f"it expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    return Authority(certificate, key)


def load_certificate(pair: PemPair) -> tuple[x509.Certificate, PrivateKeyTypes]:
    """A stored certificate and its key; ``ValueError`` when either cannot be read."""
    try:
        return x509.load_pem_x509_certificate(pair.certificate), serialization.load_pem_private_key(pair.key, None)
    except (ValueError, TypeError):
        raise ValueError("the stored certificate or key cannot be read") from None


def public_keys_match(certificate: x509.Certificate, key: PrivateKeyTypes) -> bool:
    return _spki(certificate.public_key()) == _spki(key.public_key())


def signed_by(certificate: x509.Certificate, authority: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def usage_of(certificate: x509.Certificate) -> str | None:
    """The ``usage`` whose extended key usages the certificate carries exactly, else None."""
    try:
        ekus = set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
    return next((usage for usage, wanted in _USAGE_EKUS.items() if ekus == set(wanted)), None)


def subject_alternative_names(certificate: x509.Certificate) -> tuple[set[str], set[str]]:
    """DNS names and IP addresses (normalized text) of the certificate."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(names.get_values_for_type(x509.DNSName)), {
        str(address) for address in names.get_values_for_type(x509.IPAddress)
    }


def subject_values(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(oid)]


def new_rsa_key() -> PemPair:
    """An RSA key as (public key PEM in SubjectPublicKeyInfo form, private key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    return PemPair(_spki_pem(key.public_key()), _private_key_pem(key))


@dataclass(frozen=True)
class SshKeyPair:
    private_key: bytes  # OpenSSH format, unencrypted
    authorized_key: bytes  # one authorized_keys line: "ssh-rsa AAAA...\n"


def new_ssh_key() -> SshKeyPair:
    """An RSA key pair for SSH logins, in the formats ssh and authorized_keys read."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    private_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public_key = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return SshKeyPair(private_key, public_key + b"\n")


def new_aescbc_secret() -> str:
    """32 random bytes, base64-encoded, as an EncryptionConfiguration aescbc secret."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_token() -> str:
    """32 URL-safe random characters."""
    return secrets.token_urlsafe(24)


def ca_cert_hash(certificate_pem: bytes) -> str:
    """``sha256:<hex>`` of the CA's SubjectPublicKeyInfo, the form of kubeadm's discovery-token-ca-cert-hash."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return "sha256:" + hashlib.sha256(_spki(certificate.public_key())).hexdigest()


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime, validity_days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(secrets.randbelow(_SERIAL_LIMIT - 1) + 1)
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=validity_days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _spki_pem(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _private_key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
