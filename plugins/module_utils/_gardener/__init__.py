# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Gardener's own rules and formats: manifest directories, extension objects (operation
annotations, readiness), ShootState. Never imports Ansible."""

from __future__ import annotations
