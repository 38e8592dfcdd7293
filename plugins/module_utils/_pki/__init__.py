# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The cluster's PKI: CAs, keys, certificates and the secrets state that holds them (controller side).

Public API:

- ``spec.parse_spec(authorities, certificates, keys) -> PkiSpec``: validates the desired secrets.
- ``reconcile.reconcile(states, spec, now=..., validity=Validity(...)) -> ReconcileResult``: merges the
  state files of all control-plane machines (text by host) with the spec; ``ReconcileResult`` carries the
  new state (``text``), what was issued or removed and why, warnings, the hosts already in sync and
  ``secrets()`` (data as text by secret name).
- ``material.ca_cert_hash(cert_pem)``: ``sha256:<hex>`` of a CA's SubjectPublicKeyInfo (join pinning).
- ``errors.PkiError``: every refusal; its message never contains key material.

Uses ``cryptography`` and PyYAML; never imports Ansible.
"""

from __future__ import annotations
