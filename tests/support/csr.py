"""Certificate requests built with ``cryptography``, as a kubelet (or an attacker) would send them."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from typing import Any, Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SIGNER = "kubernetes.io/kubelet-serving"
SERVING_USAGES = ("digital signature", "server auth")  # what kubelet asks for with an ECDSA key
_KEY = ec.generate_private_key(ec.SECP256R1())  # one key for all: generating is what takes time


def request_pem(
    common_name: Optional[str],
    organizations: Sequence[str] = ("system:nodes",),
    *,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    emails: Sequence[str] = (),
    uris: Sequence[str] = (),
    key: Any = None,
) -> str:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization) for organization in organizations]
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    names += [x509.RFC822Name(email) for email in emails]
    names += [x509.UniformResourceIdentifier(uri) for uri in uris]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    request = builder.sign(key or _KEY, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def csr_manifest(
    request: str, *, usages: Sequence[str] = SERVING_USAGES, signer: str = SIGNER, name: Optional[str] = None
) -> dict[str, Any]:
    """A CertificateSigningRequest to create (the API sets username and groups from the creator)."""
    metadata = {"name": name} if name else {"generateName": "csr-"}
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": metadata,
        "spec": {"request": base64.b64encode(request.encode()).decode(), "signerName": signer, "usages": list(usages)},
    }


def csr_as_read(
    request: str,
    *,
    username: str = "system:node:n1",
    groups: Sequence[str] = ("system:nodes", "system:authenticated"),
    usages: Sequence[str] = SERVING_USAGES,
    signer: str = SIGNER,
    name: str = "csr-test",
    conditions: Sequence[dict[str, Any]] = (),
    resource_version: str = "1",
) -> dict[str, Any]:
    """A CertificateSigningRequest as the API returns it."""
    csr = csr_manifest(request, usages=usages, signer=signer, name=name)
    csr["metadata"]["resourceVersion"] = resource_version
    csr["spec"].update(username=username, groups=list(groups))
    csr["status"] = {"conditions": list(conditions)} if conditions else {}
    return csr
