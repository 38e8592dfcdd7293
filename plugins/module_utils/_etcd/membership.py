# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Which ``--initial-cluster`` and ``--initial-cluster-state`` a stacked etcd member starts with,
and which member a removal takes. No I/O: the caller says what it found on disk and in the cluster.

etcd reads both flags only when its data directory is empty, yet they are part of the static pod
manifest, so they must not change once chosen (a changed manifest restarts the pod). Hence:

- data exists: the flags the current manifest has; without a manifest the current membership
  with ``existing`` (with data etcd ignores them, but they should describe the truth).
- no data, no cluster answers: a brand-new cluster; every member gets ``new`` and the same
  ``initial_cluster``.
- no data, a cluster answers: ``member add`` (unless a member with our peer URL was added earlier
  and never started), then ``existing`` with the membership including us, which is exactly what
  etcd checks a joining member's flags against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

NEW = "new"
EXISTING = "existing"
STATES = (NEW, EXISTING)


class MembershipError(ValueError):
    """No safe decision is possible; the message says why and what to do."""


@dataclass(frozen=True)
class Member:
    """A member as etcd lists it. One added but never started has no name and no client URLs."""

    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()

    @property
    def started(self) -> bool:
        # A member publishes its name and client URLs once it has started; members of a brand-new
        # cluster carry their name from the start, so only the client URLs tell.
        return bool(self.client_urls)

    def as_result(self) -> dict[str, object]:
        """The member as the module returns it; the ID in hex, as etcdctl prints it."""
        return {
            "name": self.name,
            "id": f"{self.id:x}",
            "peer_urls": list(self.peer_urls),
            "client_urls": list(self.client_urls),
        }


@dataclass(frozen=True)
class InitialFlags:
    initial_cluster: str  # the flag value, e.g. "cp-0=https://10.0.0.10:2380,cp-1=https://10.0.0.11:2380"
    state: str  # new | existing


@dataclass(frozen=True)
class MembershipPlan:
    flags: InitialFlags
    add: bool  # `member add` must happen before the member starts
    warnings: tuple[str, ...] = ()


def plan_membership(
    name: str,
    peer_url: str,
    *,
    has_data: bool,
    manifest_flags: InitialFlags | None,
    members: Sequence[Member] | None,
    initial_cluster: Mapping[str, str] | None = None,
    list_error: str = "",
) -> MembershipPlan:
    """The flags for member `name` advertising `peer_url`.

    `members` is the cluster's member list, None when it could not be listed; `list_error` is set
    when an endpoint answered but listing failed (so a cluster may run), empty when none answered.
    `initial_cluster` maps names to peer URLs for a brand-new cluster and must contain `name`.
    """
    check_member_name(name)
    if initial_cluster is not None:
        check_initial_cluster(initial_cluster, name, peer_url)
    if has_data:
        return _plan_with_data(
            name,
            peer_url,
            manifest_flags=manifest_flags,
            members=members,
            initial_cluster=initial_cluster,
            list_error=list_error,
        )
    if members is None:
        return _plan_new_cluster(initial_cluster, list_error)
    return _plan_join(name, peer_url, members)


def _plan_with_data(
    name: str,
    peer_url: str,
    *,
    manifest_flags: InitialFlags | None,
    members: Sequence[Member] | None,
    initial_cluster: Mapping[str, str] | None,
    list_error: str,
) -> MembershipPlan:
    if manifest_flags is not None:
        warnings: list[str] = []
        if members is not None and _member_with_peer_url(members, peer_url) is None:
            warnings.append(
                f"member {name!r} has data, but the cluster does not list its peer URL {peer_url}: it was "
                "removed and etcd will refuse to start; delete its data directory to let it join again"
            )
        if list_error:
            warnings.append(f"could not list the cluster's members: {list_error}")
        return MembershipPlan(manifest_flags, add=False, warnings=tuple(warnings))
    if members is not None:
        ours = _member_with_peer_url(members, peer_url)
        if ours is None:
            raise MembershipError(
                f"member {name!r} has data but no manifest, and the cluster does not list its peer URL "
                f"{peer_url}: it was removed; delete its data directory to let it join again"
            )
        _check_same_name(ours, name)
        return MembershipPlan(InitialFlags(_initial_cluster_of(members, ours, name), EXISTING), add=False)
    if list_error:
        raise MembershipError(f"member {name!r} has data but no manifest, and {list_error}")
    if initial_cluster is None:
        raise MembershipError(
            f"member {name!r} has data but no manifest, no endpoint answered and initial_cluster is not given"
        )
    # Nothing answers (e.g. every member is down): etcd restarts from its data and ignores these flags.
    return MembershipPlan(InitialFlags(format_initial_cluster(initial_cluster.items()), EXISTING), add=False)


def _plan_new_cluster(initial_cluster: Mapping[str, str] | None, list_error: str) -> MembershipPlan:
    if list_error:
        # Something listens where a member should be: starting a second, separate cluster would be wrong.
        raise MembershipError(f"cannot tell whether a cluster runs: {list_error}")
    if initial_cluster is None:
        raise MembershipError("no endpoint answered and initial_cluster is not given: no cluster to join or create")
    return MembershipPlan(InitialFlags(format_initial_cluster(initial_cluster.items()), NEW), add=False)


def _plan_join(name: str, peer_url: str, members: Sequence[Member]) -> MembershipPlan:
    ours = _member_with_peer_url(members, peer_url)
    if ours is None:
        namesake = next((member for member in members if member.name == name), None)
        if namesake is not None:
            raise MembershipError(
                f"member {name!r} ({namesake.id:x}) exists with peer URLs {', '.join(namesake.peer_urls)}, "
                f"not {peer_url}; remove it first"
            )
        joining = Member(0, name, (peer_url,))
        return MembershipPlan(InitialFlags(_initial_cluster_of([*members, joining], joining, name), EXISTING), add=True)
    _check_same_name(ours, name)
    if ours.started:
        # Joining again under the old ID with an empty data directory would break raft's promises.
        raise MembershipError(
            f"member {name!r} ({ours.id:x}) has started before but has no data now: its data is lost; "
            "remove the member (state=absent) and run again to add it anew"
        )
    return MembershipPlan(InitialFlags(_initial_cluster_of(members, ours, name), EXISTING), add=False)


def plan_removal(members: Sequence[Member], name: str, peer_url: str) -> Member | None:
    """The member to remove: the one named `name`, or, without a name (added but never started),
    the one with `peer_url`. None when there is none; refuses to remove the last member."""
    matches = [
        member for member in members if member.name == name or (not member.name and peer_url in member.peer_urls)
    ]
    if not matches:
        return None
    if len(matches) > 1:
        found = ", ".join(f"{member.id:x}" for member in matches)
        raise MembershipError(f"more than one member matches name {name!r} or peer URL {peer_url}: {found}")
    target = matches[0]
    if len(members) == 1:
        raise MembershipError(
            f"member {name!r} ({target.id:x}) is the last member of the cluster; removing it would destroy "
            "the cluster, so it is refused"
        )
    return target


def format_initial_cluster(entries: Iterable[tuple[str, str]]) -> str:
    """`name=url` pairs, sorted by name then URL, joined by commas (etcd's --initial-cluster)."""
    return ",".join(f"{name}={url}" for name, url in sorted(entries))


def _initial_cluster_of(members: Sequence[Member], ours: Member, name: str) -> str:
    """The membership as --initial-cluster; our member under `name` even before it has started."""
    urls_by_name: dict[str, tuple[str, ...]] = {}
    for member in members:
        member_name = name if member is ours else member.name
        if member_name in urls_by_name:
            # etcd parses the flag into a map by name: two members with one name would merge.
            shown = repr(member_name) if member_name else "an empty name (added, never started)"
            raise MembershipError(
                f"more than one member has {shown}; --initial-cluster cannot express that: start or remove them"
            )
        urls_by_name[member_name] = member.peer_urls
    return format_initial_cluster((member_name, url) for member_name, urls in urls_by_name.items() for url in urls)


def _member_with_peer_url(members: Sequence[Member], peer_url: str) -> Member | None:
    return next((member for member in members if peer_url in member.peer_urls), None)


def _check_same_name(member: Member, name: str) -> None:
    if member.name and member.name != name:
        raise MembershipError(f"peer URL {member.peer_urls[0]} belongs to member {member.name!r}, not {name!r}")


def check_member_name(name: str) -> None:
    # ',' and '=' are the separators of --initial-cluster.
    if not name or "," in name or "=" in name:
        raise MembershipError(f"member name {name!r} must be non-empty and contain neither ',' nor '='")


def check_initial_cluster(initial_cluster: Mapping[str, str], name: str, peer_url: str) -> None:
    for member_name, url in initial_cluster.items():
        check_member_name(member_name)
        if not isinstance(url, str) or not url:
            raise MembershipError(f"initial_cluster[{member_name!r}] must be a peer URL, got {url!r}")
    if initial_cluster.get(name) != peer_url:
        raise MembershipError(
            f"initial_cluster must map this member {name!r} to its peer URL {peer_url}, "
            f"got {initial_cluster.get(name)!r}"
        )


def endpoints_to_ask(endpoints: Sequence[str], peer_url: str, has_data: bool) -> list[str]:
    """Without data this member's etcd cannot be running: skip endpoints on its own host."""
    if has_data:
        return list(endpoints)
    own_host = (urlsplit(peer_url).hostname or "").lower()
    return [endpoint for endpoint in endpoints if (urlsplit(endpoint).hostname or "").lower() != own_host]


def endpoints_avoiding(endpoints: Sequence[str], member: Member) -> list[str]:
    """`endpoints` with those of `member` last: a member asked to remove itself may stop before it answers."""
    others = [endpoint for endpoint in endpoints if endpoint not in member.client_urls]
    return others + [endpoint for endpoint in endpoints if endpoint in member.client_urls]
