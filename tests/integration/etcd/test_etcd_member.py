"""The etcd_member module against real etcd 3.4 clusters (TLS, client-certificate auth) on loopback,
run through ansible-playbook on localhost. etcd's /health and etcdctl are the oracles."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from etcd_harness import EtcdMember, EtcdSite

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.client import EtcdClient, EtcdError, tls_context

pytestmark = pytest.mark.substrate

CHECK = {"check_mode": True}
APPLY: dict[str, Any] = {}


def initial_cluster(*members: EtcdMember) -> dict[str, str]:
    return {member.name: member.peer_url for member in members}


def flag_value(*members: EtcdMember) -> str:
    return ",".join(f"{member.name}={member.peer_url}" for member in sorted(members, key=lambda member: member.name))


def flags(result: dict[str, Any]) -> tuple[str, str]:
    return result["initial_cluster"], result["initial_cluster_state"]


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def assert_works(site: EtcdSite, *members: EtcdMember) -> None:
    """A write through the first member is read back through every member."""
    site.etcdctl("put", "probe", f"written-via-{members[0].name}", endpoints=[members[0].client_url])
    for member in members:
        read = site.etcdctl("get", "probe", "--print-value-only", "--consistency=l", endpoints=[member.client_url])
        assert read.strip() == f"written-via-{members[0].name}"


def test_new_cluster_of_three_forms_with_the_returned_flags(etcd_site: EtcdSite) -> None:
    site = etcd_site
    members = [site.member(f"cp-{index}", f"127.0.0.{index + 2}") for index in range(3)]
    desired = initial_cluster(*reversed(members))

    decided = [
        succeeded(result) for result in site.run(*[(site.args(m, initial_cluster=desired), APPLY) for m in members])
    ]

    for result in decided:
        assert flags(result) == (flag_value(*members), "new")
        assert (result["changed"], result["added"], result["members"]) == (False, False, [])
    for member, result in zip(members, decided):
        site.start(member, *flags(result))
    site.wait_healthy(*members)
    listed = site.listed_members(members[0])
    assert [item["name"] for item in listed] == ["cp-0", "cp-1", "cp-2"]
    assert all(item["client_urls"] for item in listed)
    assert_works(site, *members)

    # Rerun with data: cp-0 and cp-1 keep their manifests' flags; cp-2 has lost its manifest and gets
    # "existing" with the current membership.
    members[2].manifest_path.unlink()
    rerun = [
        succeeded(result) for result in site.run(*[(site.args(m, initial_cluster=desired), APPLY) for m in members])
    ]

    assert [flags(result) for result in rerun] == [
        (flag_value(*members), "new"),
        (flag_value(*members), "new"),
        (flag_value(*members), "existing"),
    ]
    for result in rerun:
        assert result["changed"] is False
        assert result["members"] == listed
        assert "warnings" not in result


def test_grow_from_one_to_three_and_shrink_to_two(etcd_site: EtcdSite) -> None:
    site = etcd_site
    a, b, c = (site.member(name, f"127.0.0.{index + 2}") for index, name in enumerate(("cp-a", "cp-b", "cp-c")))

    # One member, a brand-new cluster. Its own endpoint is in the list and is not asked (no data yet).
    (first,) = site.run((site.args(a, initial_cluster=initial_cluster(a)), APPLY))
    assert flags(succeeded(first)) == (flag_value(a), "new")
    site.start(a, *flags(first))
    site.wait_healthy(a)

    # The second member joins. b's initial_cluster lists c, which the cluster does not have: scale-out, no warning.
    b_args = site.args(b, initial_cluster=initial_cluster(a, b, c))
    refused, check, add, again, a_rerun = site.run(
        (site.args(a, state="absent"), APPLY),
        (b_args, CHECK),
        (b_args, APPLY),
        (b_args, APPLY),
        (site.args(a, initial_cluster=initial_cluster(a, b)), APPLY),
    )
    assert refused["failed"]
    assert "is the last member of the cluster; removing it would destroy the cluster" in refused["msg"]
    assert (check["changed"], check["added"], flags(check)) == (True, True, (flag_value(a, b), "existing"))
    assert [item["name"] for item in check["members"]] == ["cp-a"]
    # Had check mode added b, this run would have found it and changed nothing.
    assert (add["changed"], add["added"], flags(succeeded(add))) == (True, True, (flag_value(a, b), "existing"))
    assert "warnings" not in add
    assert [(item["name"], item["peer_urls"], item["client_urls"]) for item in add["members"]] == [
        ("", [b.peer_url], []),  # added, not started yet
        ("cp-a", [a.peer_url], [a.client_url]),
    ]
    assert add["members"] == site.listed_members(a)
    # Added earlier, never started: the member is reused, not added twice.
    assert (again["changed"], again["added"], flags(succeeded(again))) == (False, False, flags(add))
    assert (a_rerun["changed"], flags(succeeded(a_rerun))) == (False, a.started_with)
    site.start(b, *flags(add))
    site.wait_healthy(a, b)
    assert_works(site, b, a)

    # The third member joins right after the second started: etcd refuses ("unhealthy cluster") until
    # b has been connected for 5 s, and the module retries within its timeout.
    (add_c,) = site.run((site.args(c, initial_cluster=initial_cluster(a, b, c)), APPLY))
    assert (add_c["changed"], add_c["added"], flags(succeeded(add_c))) == (
        True,
        True,
        (flag_value(a, b, c), "existing"),
    )
    site.start(c, *flags(add_c))
    site.wait_healthy(a, b, c)
    assert_works(site, c, a, b)

    # Rerun everywhere: identical flags, no change. Then c leaves.
    full = initial_cluster(a, b, c)
    c_absent = site.args(c, state="absent")
    rerun_a, rerun_b, rerun_c, remove_check, remove, remove_again = site.run(
        (site.args(a, initial_cluster=full), APPLY),
        (site.args(b, initial_cluster=full), APPLY),
        (site.args(c, initial_cluster=full), APPLY),
        (c_absent, CHECK),
        (c_absent, APPLY),
        (c_absent, APPLY),
    )
    for member, result in ((a, rerun_a), (b, rerun_b), (c, rerun_c)):
        assert (result["changed"], result["added"], flags(succeeded(result))) == (False, False, member.started_with)
    assert [item["name"] for item in rerun_a["members"]] == ["cp-a", "cp-b", "cp-c"]
    assert (remove_check["changed"], len(remove_check["members"])) == (True, 3)
    assert succeeded(remove)["changed"] is True
    assert [item["name"] for item in remove["members"]] == ["cp-a", "cp-b"]
    assert (succeeded(remove_again)["changed"], remove_again["members"]) == (False, remove["members"])

    site.stop(c)
    assert [item["name"] for item in site.listed_members(a)] == ["cp-a", "cp-b"]
    site.wait_healthy(a, b)
    assert_works(site, a, b)


def test_failures_name_endpoints_and_reasons(etcd_site: EtcdSite) -> None:
    site = etcd_site
    a = site.member("cp-a", "127.0.0.2")
    joining = site.member("cp-b", "127.0.0.3")
    nothing = site.member("cp-x", "127.0.0.5")  # never started: refuses connections
    site.start(a, flag_value(a), "new")
    site.wait_healthy(a)
    key_material = site.pki.client_key.read_text().splitlines()[1]

    foreign_cert, refused, refused_absent, unreadable_key, wrong_name = site.run(
        # TLS fails at a running member: this must not be taken for "no cluster" and start a new one.
        (
            site.args(
                joining,
                endpoints=[a.client_url],
                cert_path=str(site.pki.foreign_client_cert),
                key_path=str(site.pki.foreign_client_key),
                initial_cluster=initial_cluster(joining),
            ),
            APPLY,
        ),
        (site.args(joining, endpoints=[nothing.client_url]), APPLY),
        (site.args(joining, endpoints=[nothing.client_url], state="absent"), APPLY),
        (site.args(joining, key_path=str(site.workdir / "missing.key")), APPLY),
        # a's name with another peer URL
        (site.args(joining, name="cp-a", endpoints=[a.client_url]), APPLY),
    )

    assert foreign_cert["failed"]
    assert foreign_cert["msg"].startswith(
        "etcd member 'cp-b': cannot tell whether a cluster runs: etcd member list failed: "
    )
    assert f"{a.client_url}: TLS: " in foreign_cert["msg"]
    assert refused["failed"]
    assert refused["msg"] == (
        "etcd member 'cp-b': no endpoint answered and initial_cluster is not given: no cluster to join or create "
        f"(etcd member list failed: {nothing.client_url}: connection refused)"
    )
    assert refused_absent["failed"]
    assert (
        refused_absent["msg"]
        == f"etcd member 'cp-b': etcd member list failed: {nothing.client_url}: connection refused"
    )
    assert unreadable_key["failed"]
    assert unreadable_key["msg"] == (
        "cannot load the etcd client TLS files (ca_path, cert_path, key_path): [Errno 2] No such file or directory"
    )
    assert wrong_name["failed"]
    assert wrong_name["msg"].startswith("etcd member 'cp-a': member 'cp-a' (")
    assert wrong_name["msg"].endswith(f") exists with peer URLs {a.peer_url}, not {joining.peer_url}; remove it first")
    assert key_material not in site.last_output
    assert "PRIVATE KEY" not in site.last_output
    assert [item["name"] for item in site.listed_members(a)] == ["cp-a"]


def test_the_cluster_refuses_clients_without_a_certificate(etcd_site: EtcdSite) -> None:
    site = etcd_site
    a = site.member("cp-a", "127.0.0.2")
    site.start(a, flag_value(a), "new")
    site.wait_healthy(a)

    without = site.etcdctl_run("endpoint", "health", endpoints=[a.client_url], with_client_cert=False, timeout="1s")
    assert without.returncode != 0
    assert "unhealthy" in without.stderr
    assert site.etcdctl_run("endpoint", "health", endpoints=[a.client_url]).returncode == 0

    anonymous = ssl.create_default_context(cafile=str(site.pki.ca.ca_file))
    # The server aborts the handshake; OpenSSL reports a bad certificate alert or an EOF, as timing has it.
    with pytest.raises(EtcdError, match=rf"^etcd member list failed: {a.client_url}: TLS: "):
        EtcdClient([a.client_url], anonymous, 5).member_list()
    certified = tls_context(str(site.pki.ca.ca_file), str(site.pki.client_cert), str(site.pki.client_key))
    assert [member.name for member in EtcdClient([a.client_url], certified, 5).member_list()] == ["cp-a"]
