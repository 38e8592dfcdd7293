"""Client construction and error messages, without a server (plugins/module_utils/_k8s/client.py).

Everything that needs an API server is in tests/integration/k8s/test_k8s_client_api.py.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
from support.apiserver import Pki, free_port

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    ApiUnreachable,
    KubeconfigError,
    KubeError,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import ClientConfig

SERVER = "https://127.0.0.1:6443"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def test_client_certificate_goes_through_private_files_that_are_removed_at_once(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_pem, key_pem = pki.issue_pem("admin", organization="system:masters")
    seen: list[dict[str, Any]] = []
    load = ssl.SSLContext.load_cert_chain

    def spy(context: ssl.SSLContext, certfile: str, keyfile: str) -> None:
        directory = os.path.dirname(certfile)
        seen.append(
            {
                "directory": directory,
                "modes": [stat.S_IMODE(os.stat(path).st_mode) for path in (directory, certfile, keyfile)],
                "contents": (Path(certfile).read_text(), Path(keyfile).read_text()),
            }
        )
        load(context, certfile, keyfile)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    KubeClient(ClientConfig(server=SERVER, ca_data=pki.ca_pem, client_cert_data=cert_pem, client_key_data=key_pem))
    [loaded] = seen
    assert loaded["modes"] == [0o700, 0o600, 0o600]
    assert loaded["contents"] == (cert_pem, key_pem)
    assert not os.path.exists(loaded["directory"])


def test_a_key_that_does_not_match_is_refused_without_showing_it(pki: Pki) -> None:
    cert_pem, _key_pem = pki.issue_pem("admin")
    _other_cert_pem, other_key_pem = pki.issue_pem("someone-else")
    with pytest.raises(KubeconfigError) as refused:
        KubeClient(ClientConfig(server=SERVER, client_cert_data=cert_pem, client_key_data=other_key_pem))
    assert str(refused.value).startswith("the client certificate and key cannot be loaded: ")
    assert other_key_pem.splitlines()[1] not in str(refused.value)


def test_an_unusable_ca_is_refused() -> None:
    with pytest.raises(KubeconfigError, match=r"the CA certificate of https://127\.0\.0\.1:6443 is not usable PEM"):
        KubeClient(
            ClientConfig(server=SERVER, ca_data="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
        )


def test_only_https_servers() -> None:
    with pytest.raises(KubeconfigError, match="is not an https:// URL"):
        KubeClient(ClientConfig(server="http://127.0.0.1:8080"))


def test_apply_needs_api_version_kind_and_name() -> None:
    client = KubeClient(ClientConfig(server=SERVER))
    with pytest.raises(KubeError, match=r"the object needs apiVersion, kind and metadata\.name, got v1/ConfigMap None"):
        client.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})


def test_error_messages_read_well_and_name_what_failed() -> None:
    invalid = ApiError(
        "PATCH",
        "/apis/extensions.gardener.cloud/v1alpha1/namespaces/ns/infrastructures/x",
        500,
        "Internal Server Error",
        "failed to create typed patch object: .spec.bogusField: field not declared in schema",
    )
    assert str(invalid) == (
        "PATCH /apis/extensions.gardener.cloud/v1alpha1/namespaces/ns/infrastructures/x"
        " failed with 500 Internal Server Error:"
        " failed to create typed patch object: .spec.bogusField: field not declared in schema"
    )
    unreachable = ApiUnreachable(SERVER, ConnectionRefusedError(111, "Connection refused"))
    assert str(unreachable) == f"cannot reach the Kubernetes API server {SERVER}: [Errno 111] Connection refused"
    assert (
        str(ApiUnreachable(SERVER, TimeoutError())) == f"cannot reach the Kubernetes API server {SERVER}: TimeoutError"
    )


def test_nothing_listening_is_unreachable() -> None:
    server = f"https://127.0.0.1:{free_port()}"
    with pytest.raises(ApiUnreachable, match=f"cannot reach the Kubernetes API server {re.escape(server)}: .*refused"):
        KubeClient(ClientConfig(server=server), timeout=2).get("v1", "Namespace", "default")
