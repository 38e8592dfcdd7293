"""Membership decisions (plugins/module_utils/_etcd/membership.py), as tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import (
    InitialFlags,
    Member,
    MembershipError,
    endpoints_avoiding,
    endpoints_to_ask,
    format_initial_cluster,
    plan_membership,
    plan_removal,
)

PEER = {f"cp-{index}": f"https://10.0.0.1{index}:2380" for index in range(5)}
CLIENT = {f"cp-{index}": f"https://10.0.0.1{index}:2379" for index in range(5)}


def started(name: str, member_id: int) -> Member:
    return Member(member_id, name, (PEER[name],), (CLIENT[name],))


def unstarted(name: str, member_id: int) -> Member:
    """Added with `member add`, never started: no name, no client URLs."""
    return Member(member_id, "", (PEER[name],))


def listed_in_new_cluster(name: str, member_id: int) -> Member:
    """A member of a brand-new cluster that has not started: named by --initial-cluster, no client URLs."""
    return Member(member_id, name, (PEER[name],))


def cluster_string(*names: str) -> str:
    return ",".join(f"{name}={PEER[name]}" for name in names)


def desired(*names: str) -> dict[str, str]:
    return {name: PEER[name] for name in names}


@dataclass
class Case:
    id: str
    name: str
    peer_url: str = ""  # PEER[name] unless given
    has_data: bool = False
    members: list[Member] | None = None
    initial_cluster: dict[str, str] | None = None
    manifest_flags: InitialFlags | None = None
    list_error: str = ""
    # expected
    initial: str = ""
    state: str = ""
    add: bool = False
    warnings: list[str] = field(default_factory=list)  # regular expressions, one per warning
    error: str = ""  # regular expression


NEW_3 = cluster_string("cp-0", "cp-1", "cp-2")
NEW_5 = cluster_string("cp-0", "cp-1", "cp-2", "cp-3", "cp-4")
MANIFEST_NEW_3 = InitialFlags(NEW_3, "new")

CASES = [
    # (a) brand-new clusters: every member new, the same initial cluster
    Case("new-1", "cp-0", initial_cluster=desired("cp-0"), initial=cluster_string("cp-0"), state="new"),
    *[
        Case(f"new-3-{name}", name, initial_cluster=desired("cp-2", "cp-0", "cp-1"), initial=NEW_3, state="new")
        for name in ("cp-0", "cp-1", "cp-2")
    ],
    *[
        Case(f"new-5-{name}", name, initial_cluster=desired(*PEER), initial=NEW_5, state="new")
        for name in ("cp-0", "cp-4")
    ],
    Case("nothing-answers-no-initial-cluster", "cp-0", error="no endpoint answered and initial_cluster is not given"),
    Case(
        "something-answers-but-cannot-list",
        "cp-1",
        initial_cluster=desired("cp-0", "cp-1"),
        list_error="etcd member list failed: https://10.0.0.10:2379: TLS: certificate verify failed",
        error=r"cannot tell whether a cluster runs: etcd member list failed: https://10\.0\.0\.10:2379: TLS",
    ),
    # (b) joining a running cluster
    Case(
        "scale-out-1-to-2",
        "cp-1",
        members=[started("cp-0", 1)],
        initial_cluster=desired("cp-0", "cp-1"),
        initial=cluster_string("cp-0", "cp-1"),
        state="existing",
        add=True,
    ),
    Case(
        "scale-out-initial-cluster-lists-more-members-says-nothing",
        "cp-2",
        members=[started("cp-1", 2), started("cp-0", 1)],
        initial_cluster=desired("cp-0", "cp-1", "cp-2", "cp-3", "cp-4"),
        initial=NEW_3,
        state="existing",
        add=True,
    ),
    Case(
        "scale-out-without-initial-cluster",
        "cp-2",
        members=[started("cp-0", 1), started("cp-1", 2)],
        initial=NEW_3,
        state="existing",
        add=True,
    ),
    Case(
        "added-earlier-never-started-is-reused-under-our-name",
        "cp-2",
        members=[started("cp-0", 1), unstarted("cp-2", 3), started("cp-1", 2)],
        initial=NEW_3,
        state="existing",
    ),
    Case(
        "listed-by-a-new-cluster-that-started-without-us",
        "cp-2",
        members=[started("cp-0", 1), listed_in_new_cluster("cp-1", 2), listed_in_new_cluster("cp-2", 3)],
        initial_cluster=desired("cp-0", "cp-1", "cp-2"),
        initial=NEW_3,
        state="existing",
    ),
    Case(
        "another-member-added-never-started-keeps-an-empty-name",
        "cp-2",
        members=[started("cp-0", 1), unstarted("cp-1", 2), unstarted("cp-2", 3)],
        initial=f"={PEER['cp-1']},{cluster_string('cp-0', 'cp-2')}",
        state="existing",
    ),
    Case(
        "two-other-members-never-started-cannot-be-expressed",
        "cp-3",
        members=[started("cp-0", 1), unstarted("cp-1", 2), unstarted("cp-2", 3)],
        error="more than one member has an empty name",
    ),
    Case(
        "started-before-and-data-lost",
        "cp-1",
        members=[started("cp-0", 1), started("cp-1", 2)],
        error=r"member 'cp-1' \(2\) has started before but has no data now: its data is lost; remove",
    ),
    Case(
        "peer-url-belongs-to-another-name",
        "cp-9",
        peer_url=PEER["cp-1"],
        members=[started("cp-0", 1), started("cp-1", 2)],
        error=r"peer URL https://10\.0\.0\.11:2380 belongs to member 'cp-1', not 'cp-9'",
    ),
    Case(
        "name-taken-with-another-peer-url",
        "cp-1",
        members=[started("cp-0", 1), Member(0x2A, "cp-1", ("https://10.9.9.9:2380",))],
        error=r"member 'cp-1' \(2a\) exists with peer URLs https://10\.9\.9\.9:2380, not https://10\.0\.0\.11:2380",
    ),
    # (c) the member has data
    Case(
        "data-and-manifest-reuse-the-manifest",
        "cp-1",
        has_data=True,
        members=[started("cp-0", 1), started("cp-1", 2), started("cp-2", 3), started("cp-3", 4)],
        manifest_flags=MANIFEST_NEW_3,
        initial=NEW_3,
        state="new",
    ),
    Case(
        "data-and-manifest-nothing-answers",
        "cp-1",
        has_data=True,
        manifest_flags=InitialFlags(cluster_string("cp-0", "cp-1"), "existing"),
        initial=cluster_string("cp-0", "cp-1"),
        state="existing",
    ),
    Case(
        "data-and-manifest-but-removed-from-the-cluster-warns",
        "cp-2",
        has_data=True,
        members=[started("cp-0", 1), started("cp-1", 2)],
        manifest_flags=MANIFEST_NEW_3,
        initial=NEW_3,
        state="new",
        warnings=[r"has data, but the cluster does not list its peer URL https://10\.0\.0\.12:2380: it was removed"],
    ),
    Case(
        "data-and-manifest-listing-failed-warns",
        "cp-0",
        has_data=True,
        manifest_flags=MANIFEST_NEW_3,
        list_error="etcd member list failed: https://10.0.0.11:2379: TLS: bad certificate",
        initial=NEW_3,
        state="new",
        warnings=["could not list the cluster's members: etcd member list failed: .*TLS: bad certificate"],
    ),
    Case(
        "data-without-manifest-uses-the-membership",
        "cp-0",
        has_data=True,
        members=[started("cp-2", 3), started("cp-0", 1), started("cp-1", 2)],
        initial_cluster=desired("cp-0"),
        initial=NEW_3,
        state="existing",
    ),
    Case(
        "data-without-manifest-removed-from-the-cluster",
        "cp-2",
        has_data=True,
        members=[started("cp-0", 1), started("cp-1", 2)],
        error="has data but no manifest, and the cluster does not list its peer URL .* it was removed",
    ),
    Case(
        "data-without-manifest-nothing-answers-falls-back-to-initial-cluster",
        "cp-1",
        has_data=True,
        initial_cluster=desired("cp-0", "cp-1", "cp-2"),
        initial=NEW_3,
        state="existing",
    ),
    Case(
        "data-without-manifest-nothing-answers-no-initial-cluster",
        "cp-1",
        has_data=True,
        error="has data but no manifest, no endpoint answered and initial_cluster is not given",
    ),
    Case(
        "data-without-manifest-listing-failed",
        "cp-1",
        has_data=True,
        initial_cluster=desired("cp-0", "cp-1"),
        list_error="etcd member list failed: https://10.0.0.10:2379: HTTP 500: boom",
        error="has data but no manifest, and etcd member list failed: .*HTTP 500: boom",
    ),
    # input checks
    Case(
        "initial-cluster-without-this-member",
        "cp-2",
        initial_cluster=desired("cp-0", "cp-1"),
        error=r"initial_cluster must map this member 'cp-2' to its peer URL https://10\.0\.0\.12:2380, got None",
    ),
    Case(
        "initial-cluster-with-another-peer-url-for-this-member",
        "cp-0",
        initial_cluster={"cp-0": "https://10.9.9.9:2380"},
        error="initial_cluster must map this member 'cp-0' to its peer URL",
    ),
    Case(
        "name-with-a-comma",
        "cp,0",
        peer_url=PEER["cp-0"],
        initial_cluster=desired("cp-0"),
        error="member name 'cp,0' must be non-empty and contain neither ',' nor '='",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_plan_membership(case: Case) -> None:
    arguments: dict[str, Any] = {
        "has_data": case.has_data,
        "manifest_flags": case.manifest_flags,
        "members": case.members,
        "initial_cluster": case.initial_cluster,
        "list_error": case.list_error,
    }
    peer_url = case.peer_url or PEER[case.name]
    if case.error:
        with pytest.raises(MembershipError, match=case.error):
            plan_membership(case.name, peer_url, **arguments)
        return
    plan = plan_membership(case.name, peer_url, **arguments)
    assert plan.flags == InitialFlags(case.initial, case.state)
    assert plan.add is case.add
    assert len(plan.warnings) == len(case.warnings), plan.warnings
    for warning, pattern in zip(plan.warnings, case.warnings):
        assert re.search(pattern, warning), warning


def test_a_member_with_two_peer_urls_gets_two_entries() -> None:
    members = [Member(1, "cp-0", ("https://10.0.0.10:2380", "https://[fd00::10]:2380"), (CLIENT["cp-0"],))]
    plan = plan_membership("cp-1", PEER["cp-1"], has_data=False, manifest_flags=None, members=members)
    assert plan.flags.initial_cluster == (
        f"cp-0=https://10.0.0.10:2380,cp-0=https://[fd00::10]:2380,cp-1={PEER['cp-1']}"
    )
    assert plan.add


def test_format_initial_cluster_sorts_by_name_then_url() -> None:
    entries = [("cp-2", "https://c:2380"), ("cp-0", "https://b:2380"), ("cp-0", "https://a:2380")]
    assert format_initial_cluster(entries) == "cp-0=https://a:2380,cp-0=https://b:2380,cp-2=https://c:2380"


@dataclass
class RemovalCase:
    id: str
    members: list[Member]
    name: str
    peer_url: str
    target: int | None = None  # id of the member to remove
    error: str = ""


REMOVAL_CASES = [
    RemovalCase("by-name", [started("cp-0", 1), started("cp-1", 2)], "cp-1", PEER["cp-1"], target=2),
    RemovalCase("by-name-whatever-the-peer-url", [started("cp-0", 1), started("cp-1", 2)], "cp-1", "https://x:1", 2),
    RemovalCase(
        "never-started-by-peer-url", [started("cp-0", 1), unstarted("cp-1", 2)], "cp-1", PEER["cp-1"], target=2
    ),
    RemovalCase("never-started-other-peer-url", [started("cp-0", 1), unstarted("cp-2", 3)], "cp-1", PEER["cp-1"]),
    RemovalCase("not-a-member", [started("cp-0", 1), started("cp-1", 2)], "cp-2", PEER["cp-2"]),
    RemovalCase(
        "named-member-with-our-peer-url-is-someone-else",
        [started("cp-0", 1), Member(2, "cp-9", (PEER["cp-1"],), (CLIENT["cp-1"],))],
        "cp-1",
        PEER["cp-1"],
    ),
    RemovalCase(
        "last-member-refused",
        [started("cp-0", 0x1F)],
        "cp-0",
        PEER["cp-0"],
        error=r"member 'cp-0' \(1f\) is the last member of the cluster; removing it would destroy the cluster",
    ),
    RemovalCase(
        "ambiguous",
        [started("cp-0", 1), Member(2, "cp-1", (PEER["cp-1"],), (CLIENT["cp-1"],)), unstarted("cp-1", 3)],
        "cp-1",
        PEER["cp-1"],
        error="more than one member matches name 'cp-1' or peer URL https://10.0.0.11:2380: 2, 3",
    ),
]


@pytest.mark.parametrize("case", REMOVAL_CASES, ids=[case.id for case in REMOVAL_CASES])
def test_plan_removal(case: RemovalCase) -> None:
    if case.error:
        with pytest.raises(MembershipError, match=case.error):
            plan_removal(case.members, case.name, case.peer_url)
        return
    target = plan_removal(case.members, case.name, case.peer_url)
    assert (target.id if target else None) == case.target


@pytest.mark.parametrize(
    ("endpoints", "peer_url", "has_data", "expected"),
    [
        (list(CLIENT.values())[:3], PEER["cp-1"], False, [CLIENT["cp-0"], CLIENT["cp-2"]]),
        (list(CLIENT.values())[:3], PEER["cp-1"], True, list(CLIENT.values())[:3]),
        (
            ["https://CP-1.example:2379", "https://cp-0.example:2379"],
            "https://cp-1.EXAMPLE:2380",
            False,
            ["https://cp-0.example:2379"],
        ),
        ([CLIENT["cp-1"]], PEER["cp-1"], False, []),
        ([], PEER["cp-0"], False, []),
    ],
    ids=["skips-own-host-without-data", "asks-all-with-data", "host-names-ignore-case", "only-own", "none"],
)
def test_endpoints_to_ask(endpoints: list[str], peer_url: str, has_data: bool, expected: list[str]) -> None:
    assert endpoints_to_ask(endpoints, peer_url, has_data) == expected


def test_endpoints_avoiding_puts_the_members_own_last() -> None:
    endpoints = [CLIENT["cp-0"], CLIENT["cp-1"], CLIENT["cp-2"]]
    assert endpoints_avoiding(endpoints, started("cp-0", 1)) == [CLIENT["cp-1"], CLIENT["cp-2"], CLIENT["cp-0"]]
    assert endpoints_avoiding(endpoints, unstarted("cp-1", 2)) == endpoints
