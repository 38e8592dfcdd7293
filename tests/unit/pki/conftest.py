"""States created from the cluster-like spec, shared by the PKI tests."""

from __future__ import annotations

import pytest
from pki_cluster import HOSTS, run

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.reconcile import ReconcileResult


@pytest.fixture(scope="session")
def created() -> ReconcileResult:
    """The state created from nothing on three machines."""
    return run(dict.fromkeys(HOSTS, ""))


@pytest.fixture(scope="session")
def other_cluster() -> ReconcileResult:
    """An independently created state: same spec, different material."""
    return run(dict.fromkeys(HOSTS, ""))
