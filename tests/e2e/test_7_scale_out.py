"""Adding a worker to the inventory joins it and changes nothing on the machines that were there."""

from __future__ import annotations

from e2e import localsite as e2e

NEW = "e2e-worker-2"


def test_a_new_worker_joins_and_nothing_else_changes(brought_up) -> None:
    grown = e2e.local_site("present", "local_site_worker_count=3")
    assert grown.returncode == 0, grown.output[-3000:]
    run = e2e.site_playbook("playbooks/autonomous-shoot.yml", log="scale-out.log")
    assert run.returncode == 0, run.output[-5000:]
    assert set(run.changed_hosts()) == {NEW}, run.changed_hosts()
    node = e2e.kubectl_json("get", "node", NEW)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert "node-role.kubernetes.io/worker" in node["metadata"]["labels"]
    serving = [
        csr
        for csr in e2e.kubectl_json("get", "csr")["items"]
        if csr["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
        and csr["spec"]["username"] == f"system:node:{NEW}"
    ]
    assert serving
    assert all(condition["type"] == "Approved" for csr in serving for condition in csr["status"]["conditions"])
    secrets = e2e.kubectl_json("get", "secrets", "--namespace", "kube-system")["items"]
    assert [secret for secret in secrets if secret["type"] == "bootstrap.kubernetes.io/token"] == []
