# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Reads what an approver checks in a PKCS#10 certificate request (RFC 2986): the subject's common
names and organizations and the subject alternative names. Standard library only: target machines
have no ``cryptography``. The signature is not verified (kube-apiserver and the signer do that).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Iterator, List, NamedTuple, Tuple

_SEQUENCE = 0x30
_SET = 0x31
_OID = 0x06
_OCTET_STRING = 0x04
_BOOLEAN = 0x01
_ATTRIBUTES = 0xA0  # [0] IMPLICIT SET OF Attribute
_STRING_CODECS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}
# GeneralName choices (context-specific, primitive)
_SAN_EMAIL = 0x81
_SAN_DNS = 0x82
_SAN_URI = 0x86
_SAN_IP = 0x87
_SAN_KINDS = {
    0xA0: "otherName",
    0x81: "email",
    0xA3: "x400Address",
    0xA4: "directoryName",
    0xA5: "ediPartyName",
    0x86: "URI",
    0x88: "registeredID",
}

OID_COMMON_NAME = "2.5.4.3"
OID_ORGANIZATION = "2.5.4.10"
OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
OID_SUBJECT_ALT_NAME = "2.5.29.17"

_PEM = re.compile(r"-----BEGIN CERTIFICATE REQUEST-----(?P<body>[A-Za-z0-9+/=\s]+)-----END CERTIFICATE REQUEST-----")


class Pkcs10Error(ValueError):
    """Not a (DER) certificate request this reader understands."""


class CertificateRequest(NamedTuple):
    common_names: Tuple[str, ...]
    organizations: Tuple[str, ...]
    dns_names: Tuple[str, ...]
    ip_addresses: Tuple[str, ...]  # in Python's canonical text form
    other_names: Tuple[str, ...]  # SANs of any other kind, e.g. "email:a@b" or "URI:spiffe://x"


class _Element(NamedTuple):
    tag: int
    content: bytes


def parse_pem(pem: str) -> CertificateRequest:
    """The first ``CERTIFICATE REQUEST`` block of ``pem``."""
    match = _PEM.search(pem)
    if match is None:
        raise Pkcs10Error("no PEM block of type CERTIFICATE REQUEST")
    try:
        der = base64.b64decode("".join(match["body"].split()), validate=True)
    except binascii.Error:
        raise Pkcs10Error("the PEM block is not valid base64") from None
    return parse_der(der)


def parse_der(der: bytes) -> CertificateRequest:
    try:
        request = list(_elements(_single(der, _SEQUENCE)))
        info = _children(_expect(request[0], _SEQUENCE))
        subject = _expect(info[1], _SEQUENCE).content
        attributes = [element.content for element in info[3:] if element.tag == _ATTRIBUTES]
        common_names, organizations = _subject(subject)
        dns_names, ip_addresses, other_names = _alternative_names(attributes[0] if attributes else b"")
    except Pkcs10Error:
        raise
    except (IndexError, ValueError) as error:  # truncated input, undecodable text
        raise Pkcs10Error(f"malformed certificate request: {error}") from None
    return CertificateRequest(common_names, organizations, dns_names, ip_addresses, other_names)


def _subject(name: bytes) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    common_names: List[str] = []
    organizations: List[str] = []
    for relative_name in _elements(name):
        for pair in _elements(_expect(relative_name, _SET).content):
            oid, value = _children(_expect(pair, _SEQUENCE))[:2]
            kind = _oid(_expect(oid, _OID).content)
            if kind == OID_COMMON_NAME:
                common_names.append(_text(value))
            elif kind == OID_ORGANIZATION:
                organizations.append(_text(value))
    return tuple(common_names), tuple(organizations)


def _alternative_names(attributes: bytes) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
    dns_names: List[str] = []
    ip_addresses: List[str] = []
    other_names: List[str] = []
    for general_name in _san_entries(attributes):
        if general_name.tag == _SAN_DNS:
            dns_names.append(general_name.content.decode("ascii"))
        elif general_name.tag == _SAN_IP:
            if len(general_name.content) not in (4, 16):
                raise Pkcs10Error(f"an IP address SAN has {len(general_name.content)} bytes")
            ip_addresses.append(str(ipaddress.ip_address(general_name.content)))
        elif general_name.tag in (_SAN_EMAIL, _SAN_URI):
            other_names.append(f"{_SAN_KINDS[general_name.tag]}:{general_name.content.decode('ascii')}")
        else:
            other_names.append(_SAN_KINDS.get(general_name.tag, f"tag {general_name.tag:#x}"))
    return tuple(dns_names), tuple(ip_addresses), tuple(other_names)


def _san_entries(attributes: bytes) -> Iterator[_Element]:
    """The GeneralNames of every subjectAltName extension in the extensionRequest attribute."""
    for attribute in _elements(attributes):
        oid, values = _children(_expect(attribute, _SEQUENCE))[:2]
        if _oid(_expect(oid, _OID).content) != OID_EXTENSION_REQUEST:
            continue
        for extensions in _elements(_expect(values, _SET).content):
            for extension in _elements(_expect(extensions, _SEQUENCE).content):
                parts = [part for part in _children(_expect(extension, _SEQUENCE)) if part.tag != _BOOLEAN]
                if _oid(_expect(parts[0], _OID).content) == OID_SUBJECT_ALT_NAME:
                    yield from _elements(_single(_expect(parts[1], _OCTET_STRING).content, _SEQUENCE))


# DER


def _elements(data: bytes) -> Iterator[_Element]:
    offset = 0
    while offset < len(data):
        tag = data[offset]
        if tag & 0x1F == 0x1F:
            raise Pkcs10Error("multi-byte tags do not occur in a certificate request")
        length, offset = _length(data, offset + 1)
        if offset + length > len(data):
            raise Pkcs10Error("an element is longer than its enclosing data")
        yield _Element(tag, data[offset : offset + length])
        offset += length


def _length(data: bytes, offset: int) -> Tuple[int, int]:
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if not 1 <= count <= 4:
        raise Pkcs10Error("indefinite or oversized lengths are not DER")
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def _children(element: _Element) -> List[_Element]:
    return list(_elements(element.content))


def _single(data: bytes, tag: int) -> bytes:
    elements = list(_elements(data))
    if len(elements) != 1:
        raise Pkcs10Error(f"expected one element, found {len(elements)}")
    return _expect(elements[0], tag).content


def _expect(element: _Element, tag: int) -> _Element:
    if element.tag != tag:
        raise Pkcs10Error(f"expected DER tag {tag:#x}, found {element.tag:#x}")
    return element


def _oid(content: bytes) -> str:
    arcs: List[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise Pkcs10Error("an empty object identifier")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def _text(element: _Element) -> str:
    codec = _STRING_CODECS.get(element.tag)
    if codec is None:
        raise Pkcs10Error(f"a name attribute has the unsupported string type {element.tag:#x}")
    return element.content.decode(codec)
