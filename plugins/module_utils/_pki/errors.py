# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The one error type of the PKI package."""

from __future__ import annotations


class PkiError(ValueError):
    """A spec or a secrets state the PKI refuses to work with.

    Messages name the secret, field or machine and the fix; they never contain key material.
    """
