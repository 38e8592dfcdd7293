"""Stacked etcd: every control-plane machine is a member of etcd-main and etcd-events, behind client certificates."""

from __future__ import annotations

import json

import pytest

from e2e import localsite as e2e


@pytest.mark.parametrize("port", [2379, 2382], ids=["etcd-main", "etcd-events"])
def test_every_member_is_healthy_with_a_client_certificate(brought_up, port: int) -> None:
    health = e2e.etcdctl("e2e-cp-0", port, "endpoint health --write-out json")
    assert health.returncode == 0, health.stderr
    assert [member["health"] for member in json.loads(health.stdout)] == [True, True, True]
    members = json.loads(e2e.etcdctl("e2e-cp-0", port, "member list --write-out json").stdout)["members"]
    assert sorted(member["name"] for member in members) == e2e.inventory_hosts("control_plane")


@pytest.mark.parametrize("port", [2379, 2382], ids=["etcd-main", "etcd-events"])
def test_a_client_without_a_certificate_is_refused(brought_up, port: int) -> None:
    refused = e2e.etcdctl("e2e-cp-0", port, "endpoint health", certificate=False)
    assert refused.returncode != 0
    assert "unhealthy" in refused.stdout + refused.stderr
