"""The reconcile rules of the cluster PKI: what is created, kept, re-issued, removed or refused."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from pki_cluster import HOSTS, NOW, cluster_spec, entry_of, on_all_hosts, run, with_entry

from ansible_collections.gardener.autonomous.plugins.module_utils._pki.errors import PkiError
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.reconcile import Issued, ReconcileResult
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.state import HEADER, parse_state

AUTHORITIES = {"ca", "ca-etcd", "ca-kubelet"}
KEYS = {"service-account-key", "kube-apiserver-etcd-encryption-key", "kube-apiserver-static-token", "ssh-keypair"}


def certificate_names() -> set[str]:
    return {certificate["name"] for certificate in cluster_spec()["certificates"]}


def assert_no_key_material(text: str, result: ReconcileResult) -> None:
    assert "-----BEGIN" not in text
    for data in result.secrets().values():
        for value in data.values():
            if len(value) >= 16:  # names such as "key1767225600" are not secret
                assert value not in text


def test_creates_every_secret_from_nothing(created: ReconcileResult) -> None:
    assert {issued.name for issued in created.issued} == AUTHORITIES | KEYS | certificate_names()
    assert {issued.reason for issued in created.issued} == {"created"}
    assert created.removed == ()
    assert created.warnings == ()
    assert created.hosts_in_sync == frozenset()
    assert created.secrets_changed


def test_state_is_shoot_state_secret_entries(created: ReconcileResult) -> None:
    assert created.text.startswith(HEADER)
    document = yaml.safe_load(created.text)
    assert [item["labels"]["name"] for item in document] == sorted(AUTHORITIES | KEYS | certificate_names())
    for item in document:
        name = item["labels"]["name"]
        assert item["type"] == "secret"
        assert re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{8}}", item["name"])
        assert item["data"]["immutable"] is True
        labels = item["labels"]
        assert labels["managed-by"] == "secrets-manager"
        assert labels["manager-identity"] == "gardener-autonomous"
        assert labels["issued-at-time"] == str(int(NOW.timestamp()))
        if name in certificate_names():
            assert "persist" not in labels
            assert item["data"]["type"] == "kubernetes.io/tls"
            assert set(item["data"]["data"]) == {"tls.crt", "tls.key"}
            assert labels["valid-until-time"] == str(int((NOW + timedelta(days=365)).timestamp()))
        else:
            assert labels["persist"] == "true"
            assert item["data"]["type"] == "Opaque"
    ca = next(item for item in document if item["labels"]["name"] == "ca")
    assert set(ca["data"]["data"]) == {"ca.crt", "ca.key"}
    assert ca["labels"]["valid-until-time"] == str(int((NOW + timedelta(days=3650)).timestamp()))


def test_second_reconcile_changes_nothing_and_serializes_byte_identically(created: ReconcileResult) -> None:
    again = run(on_all_hosts(created.text), now=NOW + timedelta(days=1))

    assert again.issued == ()
    assert again.removed == ()
    assert again.warnings == ()
    assert not again.secrets_changed
    assert again.text == created.text
    assert again.hosts_in_sync == frozenset(HOSTS)


def test_san_change_reissues_only_that_certificate(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["certificates"][0]["ip_addresses"].append("10.0.0.4")

    result = run(on_all_hosts(created.text), spec)

    assert result.issued == (Issued("kube-apiserver", "SANs changed: +10.0.0.4"),)
    before, after = parse_state(created.text, "before"), parse_state(result.text, "after")
    assert {name for name in before if before[name] != after[name]} == {"kube-apiserver"}
    assert after["kube-apiserver"].entry_name != before["kube-apiserver"].entry_name
    assert result.hosts_in_sync == frozenset()


def test_removed_and_renamed_sans_are_both_reported(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["certificates"][0]["dns_names"] = ["kubernetes", "api.example.org"]

    result = run(on_all_hosts(created.text), spec)

    assert result.issued == (
        Issued(
            "kube-apiserver",
            "SANs changed: +api.example.org, -api.example.com, -kubernetes.default, -kubernetes.default.svc",
        ),
    )


def test_subject_and_usage_changes_are_reasons(created: ReconcileResult) -> None:
    spec = cluster_spec()
    admin = next(c for c in spec["certificates"] if c["name"] == "admin")
    admin.update(common_name="root", organizations=["system:masters", "admins"], usage="peer")

    result = run(on_all_hosts(created.text), spec)

    assert result.issued == (
        Issued(
            "admin",
            "common name changed: admin -> root; organizations changed: +admins; usage changed: client -> peer",
        ),
    )


def test_certificates_near_expiry_are_reissued(created: ReconcileResult) -> None:
    result = run(on_all_hosts(created.text), now=NOW + timedelta(days=340))

    assert {issued.name for issued in result.issued} == certificate_names()
    assert {issued.reason for issued in result.issued} == {"expires in 25 days"}
    assert result.warnings == ()
    renewed = parse_state(result.text, "after")["admin"]
    assert renewed.labels["issued-at-time"] == str(int((NOW + timedelta(days=340)).timestamp()))


def test_expired_certificates_say_so(created: ReconcileResult) -> None:
    result = run(on_all_hosts(created.text), now=NOW + timedelta(days=370))

    assert {issued.reason for issued in result.issued} == {"expired 5 days ago"}


def test_renew_before_days_is_honoured(created: ReconcileResult) -> None:
    assert run(on_all_hosts(created.text), now=NOW + timedelta(days=340), renew_before_days=20).issued == ()


def test_authorities_that_differ_between_machines_stop_the_run(
    created: ReconcileResult, other_cluster: ReconcileResult
) -> None:
    states = {"cp-0": created.text, "cp-1": created.text, "cp-2": other_cluster.text}

    with pytest.raises(PkiError, match=r'secret "ca" differs between cp-0 and cp-2; restore') as caught:
        run(states)
    assert_no_key_material(str(caught.value), created)


def test_a_single_differing_authority_is_named(created: ReconcileResult, other_cluster: ReconcileResult) -> None:
    foreign = with_entry(created.text, entry_of(other_cluster.text, "ca-etcd"))

    with pytest.raises(PkiError, match=r'secret "ca-etcd" differs between cp-1 and cp-2'):
        run({"cp-0": "", "cp-1": created.text, "cp-2": foreign})


@pytest.mark.parametrize("name", ["service-account-key", "ssh-keypair"])
def test_keys_must_agree_too(created: ReconcileResult, other_cluster: ReconcileResult, name: str) -> None:
    foreign = with_entry(created.text, entry_of(other_cluster.text, name))

    with pytest.raises(PkiError, match=rf'secret "{name}" differs between cp-0 and cp-1'):
        run({"cp-0": created.text, "cp-1": foreign})


class TaggedStr(str):
    """Stands for the str subclasses Ansible hands plugins (tagged strings)."""


def test_states_may_be_str_subclasses(created: ReconcileResult) -> None:
    result = run({host: TaggedStr(created.text) for host in HOSTS})

    assert result.issued == ()
    assert result.hosts_in_sync == frozenset(HOSTS)


def test_an_empty_machine_adopts_the_state_of_the_others(created: ReconcileResult) -> None:
    result = run({"cp-0": "", "cp-1": created.text, "cp-2": "\n"})

    assert result.issued == ()
    assert result.text == created.text
    assert result.hosts_in_sync == frozenset({"cp-1"})


def test_certificate_signed_by_another_ca_is_reissued(created: ReconcileResult, other_cluster: ReconcileResult) -> None:
    foreign = with_entry(created.text, entry_of(other_cluster.text, "admin"))

    result = run(on_all_hosts(foreign))

    assert result.issued == (Issued("admin", "signed by a different CA"),)
    assert result.text != created.text


def test_certificate_with_a_foreign_key_is_reissued(created: ReconcileResult, other_cluster: ReconcileResult) -> None:
    admin = entry_of(created.text, "admin")
    mixed = {**admin.data, "tls.key": entry_of(other_cluster.text, "admin").data["tls.key"]}
    broken = with_entry(created.text, type(admin)(admin.entry_name, admin.labels, admin.secret_type, mixed))

    assert run(on_all_hosts(broken)).issued == (Issued("admin", "key does not match the certificate"),)


def test_the_best_copy_of_a_certificate_is_kept(created: ReconcileResult) -> None:
    later = NOW + timedelta(days=340)
    renewed = run(on_all_hosts(created.text), now=later)

    result = run({"cp-0": created.text, "cp-1": renewed.text, "cp-2": created.text}, now=later)

    assert result.issued == ()
    assert result.text == renewed.text
    assert result.hosts_in_sync == frozenset({"cp-1"})


def test_newest_good_copy_wins_over_an_older_good_one(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["certificates"][0]["ip_addresses"].append("10.0.0.4")
    first = run(on_all_hosts(created.text), spec, now=NOW + timedelta(days=1))
    second = run(on_all_hosts(created.text), spec, now=NOW + timedelta(days=2))

    result = run({"cp-0": first.text, "cp-1": second.text}, spec, now=NOW + timedelta(days=3))

    assert result.issued == ()
    assert entry_of(result.text, "kube-apiserver") == entry_of(second.text, "kube-apiserver")


def test_expiring_authority_is_kept_with_a_warning() -> None:
    short = run(dict.fromkeys(HOSTS, ""), authority_validity_days=40)

    result = run(on_all_hosts(short.text), now=NOW + timedelta(days=20), authority_validity_days=40)

    assert result.issued == ()
    assert result.text == short.text
    assert len(result.warnings) == 3
    warning = next(w for w in result.warnings if '"ca"' in w)
    assert warning == (
        'authority "ca" expires in 20 days (on 2026-02-10); authorities are never renewed automatically: '
        "plan a CA rotation"
    )
    assert_no_key_material(" ".join(result.warnings), short)


def test_expired_authority_stops_the_run() -> None:
    short = run(dict.fromkeys(HOSTS, ""), authority_validity_days=40)

    with pytest.raises(PkiError, match=r'authority "ca" in the secrets state is not usable: it expired on 2026-02-10'):
        run(on_all_hosts(short.text), now=NOW + timedelta(days=41))


def test_unusable_authority_stops_the_run(created: ReconcileResult, other_cluster: ReconcileResult) -> None:
    ca = entry_of(created.text, "ca")
    mixed = {**ca.data, "ca.key": entry_of(other_cluster.text, "ca").data["ca.key"]}
    broken = with_entry(created.text, type(ca)(ca.entry_name, ca.labels, ca.secret_type, mixed))

    with pytest.raises(PkiError, match=r'authority "ca" .* not usable: its private key does not belong') as caught:
        run(on_all_hosts(broken))
    assert_no_key_material(str(caught.value), created)


def test_unreadable_authority_stops_the_run(created: ReconcileResult) -> None:
    ca = entry_of(created.text, "ca")
    broken = with_entry(created.text, type(ca)(ca.entry_name, ca.labels, ca.secret_type, {**ca.data, "ca.crt": b"x"}))

    with pytest.raises(PkiError, match=r'authority "ca" .* cannot be read; authorities are never replaced'):
        run(on_all_hosts(broken))


def test_authority_with_another_common_name_is_kept_with_a_warning(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["authorities"][0]["common_name"] = "cluster"

    result = run(on_all_hosts(created.text), spec)

    assert result.text == created.text
    assert result.warnings == (
        'authority "ca" has the common name kubernetes but the spec asks for "cluster"; the stored CA is kept',
    )


def test_certificates_no_longer_in_the_spec_are_removed(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["certificates"] = [c for c in spec["certificates"] if not c["name"].endswith("cp-2")]
    spec["keys"] = [k for k in spec["keys"] if k["type"] != "aescbc"]
    spec["authorities"] = [a for a in spec["authorities"] if a["name"] != "ca-kubelet"]
    spec["certificates"] = [c for c in spec["certificates"] if c["ca"] != "ca-kubelet"]

    result = run(on_all_hosts(created.text), spec)

    assert result.removed == ("etcd-peer-cp-2", "etcd-server-cp-2", "kubelet-serving-cp-0")
    assert result.issued == ()
    assert result.secrets_changed
    remaining = parse_state(result.text, "after")
    assert set(remaining) == (AUTHORITIES | KEYS | certificate_names()) - set(result.removed)


def test_new_machine_gets_its_certificates(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["certificates"].append(
        {
            "name": "etcd-peer-cp-3",
            "ca": "ca-etcd",
            "common_name": "cp-3",
            "ip_addresses": ["10.250.0.13"],
            "usage": "peer",
        }
    )

    result = run({**on_all_hosts(created.text), "cp-3": ""}, spec)

    assert result.issued == (Issued("etcd-peer-cp-3", "created"),)


def test_static_token_users_change_keeps_remaining_tokens(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["keys"][2]["users"] = ["health-check", "probe"]
    before = created.secrets()["kube-apiserver-static-token"]

    result = run(on_all_hosts(created.text), spec)

    assert result.issued == (Issued("kube-apiserver-static-token", "users changed: +probe"),)
    after = result.secrets()["kube-apiserver-static-token"]
    assert after["health-check"] == before["health-check"]
    assert after["static_tokens.csv"] == (
        f"{before['health-check']},health-check,health-check\n{after['probe']},probe,probe\n"
    )


def test_stored_key_of_another_type_stops_the_run(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["keys"][0]["type"] = "aescbc"

    with pytest.raises(
        PkiError, match=r'secret "service-account-key" is stored as rsa but the spec declares it as aescbc'
    ):
        run(on_all_hosts(created.text), spec)


def test_ssh_key_pair_is_created_once_persisted_and_never_replaced(created: ReconcileResult) -> None:
    entry = entry_of(created.text, "ssh-keypair")

    later = run(on_all_hosts(created.text), now=NOW + timedelta(days=400))  # every certificate is re-issued by then

    assert entry.kind == "ssh"
    assert entry.secret_type == "Opaque"
    assert entry.labels["persist"] == "true"
    assert "valid-until-time" not in entry.labels
    assert "ssh-keypair" not in {issued.name for issued in later.issued}
    assert entry_of(later.text, "ssh-keypair") == entry


def test_stored_rsa_key_is_not_turned_into_an_ssh_key(created: ReconcileResult) -> None:
    spec = cluster_spec()
    spec["keys"][0]["type"] = "ssh"

    with pytest.raises(
        PkiError, match=r'secret "service-account-key" is stored as rsa but the spec declares it as ssh'
    ):
        run(on_all_hosts(created.text), spec)


def test_gardeners_ssh_key_pair_with_a_pem_private_key_is_kept(created: ReconcileResult) -> None:
    ssh = entry_of(created.text, "ssh-keypair")
    key = serialization.load_ssh_private_key(ssh.data["id_rsa"], password=None)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    adopted = with_entry(created.text, replace(ssh, data={**ssh.data, "id_rsa": pem}))

    result = run(on_all_hosts(adopted))

    assert result.issued == ()
    assert result.secrets()["ssh-keypair"]["id_rsa"] == pem.decode()


def test_ssh_key_pair_whose_halves_do_not_match_stops_the_run(
    created: ReconcileResult, other_cluster: ReconcileResult
) -> None:
    ssh = entry_of(created.text, "ssh-keypair")
    foreign_public = entry_of(other_cluster.text, "ssh-keypair").data["id_rsa.pub"]
    broken = with_entry(created.text, replace(ssh, data={**ssh.data, "id_rsa.pub": foreign_public}))

    with pytest.raises(PkiError, match=r'key "ssh-keypair" .* id_rsa.pub does not belong to id_rsa') as caught:
        run(on_all_hosts(broken))
    assert_no_key_material(str(caught.value), created)


def test_corrupt_key_stops_the_run(created: ReconcileResult) -> None:
    key = entry_of(created.text, "kube-apiserver-etcd-encryption-key")
    broken = with_entry(
        created.text, type(key)(key.entry_name, key.labels, key.secret_type, {**key.data, "secret": b"c2hvcnQ="})
    )

    with pytest.raises(PkiError, match=r'key "kube-apiserver-etcd-encryption-key" .* secret is not 32 bytes long'):
        run(on_all_hosts(broken))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- [unclosed\n  ca.key: LS0tLS1CRUdJTiBFQyBQUklWQVRF\n", r"cp-1 is not valid YAML at line \d+, column \d+"),
        ("ca: {}\n", r"cp-1 is not a list of entries"),
        ("- name: x\n  type: machine-state\n", r"cp-1, entry 0 is not a secret entry"),
        (
            "- {name: x, type: secret, labels: {name: x}, data: {type: Opaque, data: {k: '%%%'}}}\n",
            r"data key k is not",
        ),
    ],
)
def test_unreadable_state_names_the_machine_without_quoting_it(text: str, message: str) -> None:
    with pytest.raises(PkiError, match=message) as caught:
        run({"cp-0": "", "cp-1": text})
    assert "LS0t" not in str(caught.value)
    assert "%%%" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["certificates"][1].update(ca="ca-proxy"),
            r'certificates\[1\]\.ca of "admin": "ca-proxy" is not an',
        ),
        (lambda s: s["keys"].append({"name": "ca", "type": "rsa"}), r'keys: the name "ca" is also used in authorities'),
        (lambda s: s["certificates"][1].update(usage="both"), r"certificates\[1\]\.usage: 'both' is not one of server"),
        (
            lambda s: s["keys"][0].update(type="ed25519"),
            r"keys\[0\]\.type: 'ed25519' is not one of rsa, ssh, aescbc, static-token;",
        ),
        (lambda s: s["certificates"][0]["ip_addresses"].append("10.0.0.300"), r'"kube-apiserver": \'10.0.0.300\''),
        (lambda s: s["certificates"][0]["dns_names"].append("api example"), r"'api example' is not a DNS name"),
        (lambda s: s["keys"][0].update(users=["x"]), r"keys\[0\]\.users: only keys of type static-token"),
        (lambda s: s["keys"][2].update(users=[]), r"keys\[2\]\.users: a static-token key needs at least one user"),
        (lambda s: s["keys"][2].update(users=["a,b"]), r"keys\[2\]\.users: 'a,b' is not a valid user name"),
        (lambda s: s["authorities"][0].update(name="CA etcd"), r"authorities\[0\]\.name: 'CA etcd' is not a valid"),
        (lambda s: s["authorities"][0].update(common_name=""), r"authorities\[0\]\.common_name: a non-empty string"),
    ],
)
def test_spec_errors_name_the_field_and_the_fix(change: Any, message: str) -> None:
    spec = cluster_spec()
    change(spec)

    with pytest.raises(PkiError, match=message):
        run({"cp-0": ""}, spec)


@pytest.mark.parametrize(
    ("validity", "message"),
    [
        ({"renew_before_days": 365}, r"renew_before_days \(365\) must be at least 0 and less than"),
        ({"certificate_validity_days": 0}, r"must be at least 1"),
    ],
)
def test_validity_that_would_reissue_every_run_is_refused(validity: dict[str, int], message: str) -> None:
    with pytest.raises(PkiError, match=message):
        run({"cp-0": ""}, **validity)
