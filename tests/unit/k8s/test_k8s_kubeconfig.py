"""Kubeconfig parsing (plugins/module_utils/_k8s/kubeconfig.py)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeconfigError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import (
    ClientConfig,
    load_kubeconfig,
    server_address,
)

CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n"
TOKEN = "secret-token-value"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(**overrides: Any) -> dict[str, Any]:
    """Two clusters and users; ``current-context`` is the client-certificate one."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "admin@root",
        "clusters": [
            {
                "name": "root",
                "cluster": {"server": "https://api.root.test:6443", "certificate-authority-data": b64(CA)},
            },
            {
                "name": "bastion",
                "cluster": {
                    "server": "https://10.0.0.1",
                    "insecure-skip-tls-verify": True,
                    "tls-server-name": "api.root.test",
                },
            },
        ],
        "users": [
            {"name": "admin", "user": {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)}},
            {"name": "robot", "user": {"token": TOKEN}},
        ],
        "contexts": [
            {"name": "admin@root", "context": {"cluster": "root", "user": "admin"}},
            {"name": "robot@bastion", "context": {"cluster": "bastion", "user": "robot", "namespace": "garden"}},
        ],
    }
    document.update(overrides)
    return document


def test_current_context_with_client_certificate_data() -> None:
    config = load_kubeconfig(kubeconfig())
    assert config == ClientConfig(
        server="https://api.root.test:6443", ca_data=CA, client_cert_data=CERT, client_key_data=KEY
    )


def test_named_context_with_token_insecure_and_tls_server_name() -> None:
    config = load_kubeconfig(kubeconfig(), context="robot@bastion")
    assert config == ClientConfig(
        server="https://10.0.0.1", token=TOKEN, validate_certs=False, tls_server_name="api.root.test"
    )


def test_file_references_are_relative_to_the_kubeconfig_file(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text(CA)
    (tmp_path / "pki" / "admin.crt").write_text(CERT)
    (tmp_path / "pki" / "admin.key").write_text(KEY)
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    document = kubeconfig(
        clusters=[
            {"name": "root", "cluster": {"server": "https://api.root.test", "certificate-authority": "pki/ca.crt"}}
        ],
        users=[
            {
                "name": "admin",
                "user": {
                    "client-certificate": "pki/admin.crt",
                    "client-key": str(tmp_path / "pki" / "admin.key"),  # absolute works as well
                    "tokenFile": "token",
                },
            }
        ],
    )
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    config = load_kubeconfig(path)
    assert (config.ca_data, config.client_cert_data, config.client_key_data, config.token) == (CA, CERT, KEY, TOKEN)
    assert load_kubeconfig(str(path)) == config


def test_file_references_in_a_dict_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.crt").write_text(CA)
    monkeypatch.chdir(tmp_path)
    document = kubeconfig(
        clusters=[{"name": "root", "cluster": {"server": "https://api.root.test", "certificate-authority": "ca.crt"}}]
    )
    assert load_kubeconfig(document).ca_data == CA


def test_data_wins_over_file(tmp_path: Path) -> None:
    document = kubeconfig()
    document["clusters"][0]["cluster"]["certificate-authority"] = str(tmp_path / "does-not-exist")
    assert load_kubeconfig(document).ca_data == CA


def test_secrets_stay_out_of_repr() -> None:
    text = repr(load_kubeconfig(kubeconfig())) + repr(load_kubeconfig(kubeconfig(), context="robot@bastion"))
    assert TOKEN not in text
    assert "SECRET-KEY-MATERIAL" not in text
    assert "api.root.test" in text


@pytest.mark.parametrize(
    ("document", "context", "message"),
    [
        (kubeconfig(**{"current-context": ""}), None, "the kubeconfig has no current-context; name the context"),
        (kubeconfig(), "nope", "the kubeconfig has no context named 'nope'"),
        (
            kubeconfig(contexts=[{"name": "c", "context": {"user": "admin"}}]),
            "c",
            "context 'c' in the kubeconfig names no cluster",
        ),
        (
            kubeconfig(contexts=[{"name": "c", "context": {"cluster": "gone", "user": "admin"}}]),
            "c",
            "the kubeconfig has no cluster named 'gone'",
        ),
        (
            kubeconfig(clusters=[{"name": "root", "cluster": {}}]),
            None,
            "cluster 'root' in the kubeconfig has no server",
        ),
        (
            kubeconfig(clusters=[{"name": "root", "cluster": {"server": "http://api.root.test"}}]),
            None,
            "server 'http://api.root.test' is not an https:// URL",
        ),
        (
            kubeconfig(clusters=[{"name": "root", "cluster": {"server": "https://api.root.test:http"}}]),
            None,
            "server 'https://api.root.test:http' has an invalid port",
        ),
        (
            kubeconfig(clusters=[{"name": "root", "cluster": {"server": "https://a", "proxy-url": "http://proxy"}}]),
            None,
            "cluster 'root' in the kubeconfig uses proxy-url, which is not supported",
        ),
        (
            kubeconfig(users=[{"name": "admin", "user": {"exec": {"command": "get-token"}}}]),
            None,
            "user 'admin' in the kubeconfig authenticates with exec, which is not supported",
        ),
        (
            kubeconfig(users=[{"name": "admin", "user": {"client-certificate-data": b64(CERT)}}]),
            None,
            "a client certificate needs its key",
        ),
    ],
)
def test_unusable_kubeconfigs_are_refused_naming_the_problem(
    document: dict[str, Any], context: str | None, message: str
) -> None:
    with pytest.raises(KubeconfigError) as refused:
        load_kubeconfig(document, context)
    assert str(refused.value).startswith(message)


def test_broken_data_is_refused_without_quoting_it() -> None:
    document = kubeconfig(
        users=[{"name": "admin", "user": {"client-certificate-data": b64(CERT), "client-key-data": "SECRET!!"}}]
    )
    with pytest.raises(KubeconfigError) as refused:
        load_kubeconfig(document)
    assert str(refused.value) == "client-key-data of user 'admin' in the kubeconfig is not base64 of PEM text"


def test_invalid_yaml_is_refused_without_quoting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(f"users:\n- name: admin\n  user: {{token: {TOKEN}\n")
    with pytest.raises(KubeconfigError) as refused:
        load_kubeconfig(path)
    assert str(refused.value).startswith(f"kubeconfig {path}: ")
    assert TOKEN not in str(refused.value)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=r"cannot read kubeconfig .*/absent: No such file"):
        load_kubeconfig(tmp_path / "absent")
    document = kubeconfig(users=[{"name": "admin", "user": {"tokenFile": str(tmp_path / "token")}}])
    with pytest.raises(KubeconfigError, match=r"cannot read tokenFile of user 'admin' in the kubeconfig, .*/token"):
        load_kubeconfig(document)


def test_server_address() -> None:
    assert server_address("https://api.root.test") == ("api.root.test", 443, "")
    assert server_address("https://127.0.0.1:6443/") == ("127.0.0.1", 6443, "")
    assert server_address("https://[::1]:8443/k8s/clusters/c-1") == ("::1", 8443, "/k8s/clusters/c-1")


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak", "tab\there", "caf\u00e9"])
def test_tokens_that_cannot_go_into_a_header_are_refused_without_quoting_them(token: str) -> None:
    with pytest.raises(KubeconfigError) as refused:
        ClientConfig(server="https://api.root.test", token=token)
    assert str(refused.value) == "the token is empty or contains whitespace or control characters"
