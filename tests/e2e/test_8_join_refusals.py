"""A join with the wrong pinned CA, or with an expired token, stops with a message that says so."""

from __future__ import annotations

import base64
import datetime
import hashlib

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from e2e import localsite as e2e

JOINING = "e2e-worker-3"


def cluster_ca_hash() -> str:
    kubeconfig = yaml.safe_load((e2e.SITE_DIR / "artifacts" / "admin.conf").read_text())
    pem = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    spki = (
        x509.load_pem_x509_certificate(pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def test_a_wrong_pinned_ca_hash_refuses_the_join(brought_up) -> None:
    wrong = "sha256:" + "0" * 64
    run = e2e.site_playbook(
        "playbooks/autonomous-shoot.yml",
        "--tags",
        "workers",
        "-e",
        f"worker_join_ca_cert_hash={wrong}",
        log="join-wrong-ca.log",
    )
    assert run.returncode != 0
    assert f"but the pinned hash is {wrong}: refusing to join" in run.output


def test_an_expired_token_refuses_the_join_and_a_rerun_joins(brought_up) -> None:
    grown = e2e.local_site("present", "local_site_worker_count=4")
    assert grown.returncode == 0, grown.output[-3000:]
    token_id, token_secret = "e2eold", "0123456789abcdef"
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    expired = an_hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
    created = e2e.kubectl(
        "create",
        "secret",
        "generic",
        f"bootstrap-token-{token_id}",
        "--namespace",
        "kube-system",
        "--type",
        "bootstrap.kubernetes.io/token",
        f"--from-literal=token-id={token_id}",
        f"--from-literal=token-secret={token_secret}",
        f"--from-literal=expiration={expired}",
        "--from-literal=usage-bootstrap-authentication=true",
    )
    assert created.returncode == 0, created.stderr
    try:
        run = e2e.site_playbook(
            "playbooks/autonomous-shoot.yml",
            "--tags",
            "workers",
            "-e",
            f"worker_join_ca_cert_hash={cluster_ca_hash()}",
            "-e",
            f"worker_join_bootstrap_token={token_id}.{token_secret}",
            log="join-expired-token.log",
        )
    finally:
        e2e.kubectl("delete", "secret", f"bootstrap-token-{token_id}", "-n", "kube-system", "--ignore-not-found")
    assert run.returncode != 0
    assert "rejected the bootstrap token (401): it is expired" in run.output
    assert f"{token_id}.{token_secret}" not in run.output
    rerun = e2e.site_playbook("playbooks/autonomous-shoot.yml", log="join-after-refusal.log")
    assert rerun.returncode == 0, rerun.output[-5000:]
    assert set(rerun.changed_hosts()) == {JOINING}
