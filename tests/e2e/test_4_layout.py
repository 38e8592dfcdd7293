"""Files, modes, ports, labels and names on a control-plane machine, as gardenadm.md §4 and §7 describe them."""

from __future__ import annotations

import yaml

from e2e import localsite as e2e

MACHINE = "e2e-cp-0"
MODES = {
    "/etc/kubernetes/admin.conf": "600",
    "/etc/kubernetes/manifests/etcd-main.yaml": "640",
    "/etc/kubernetes/manifests/etcd-events.yaml": "640",
    "/etc/kubernetes/manifests/kube-apiserver.yaml": "640",
    "/etc/kubernetes/manifests/kube-controller-manager.yaml": "640",
    "/etc/kubernetes/manifests/kube-scheduler.yaml": "640",
    "/var/lib/etcd-main/data": "700",
    "/var/lib/etcd-events/data": "700",
    "/var/lib/static-pods/kube-apiserver/tls/tls.key": "600",
    "/var/lib/static-pods/kube-apiserver/service-account-key/id_rsa": "600",
    "/var/lib/static-pods/kube-apiserver/static-token/static_tokens.csv": "600",
    "/var/lib/static-pods/etcd-main/server-tls/tls.key": "600",
    "/var/lib/static-pods/kube-controller-manager/ca-signer/ca.key": "600",
    "/var/lib/kubelet/kubeconfig-real": "600",
    "/var/lib/gardener-autonomous/secrets.yaml": "600",
}


def test_files_have_gardenadms_modes(brought_up) -> None:
    stat = e2e.ssh(MACHINE, "stat -c '%n %a' " + " ".join(MODES))
    assert stat.returncode == 0, stat.stderr
    assert dict(line.split() for line in stat.stdout.splitlines()) == MODES


def test_static_pods_carry_the_label_and_the_config_checksum(brought_up) -> None:
    for name in ("etcd-main", "etcd-events", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        manifest = yaml.safe_load(e2e.ssh(MACHINE, f"cat /etc/kubernetes/manifests/{name}.yaml").stdout)
        assert manifest["metadata"]["name"] == name
        assert manifest["metadata"]["namespace"] == "kube-system"
        assert manifest["metadata"]["labels"]["static-pod"] == "true"
        assert len(manifest["metadata"]["annotations"]["gardener.cloud/config.mirror"]) == 64
        assert manifest["spec"]["hostNetwork"] is True


def test_mirror_pods_are_named_after_pod_and_node(brought_up) -> None:
    pods = {pod["metadata"]["name"] for pod in e2e.kubectl_json("get", "pods", "--namespace", "kube-system")["items"]}
    for node in e2e.inventory_hosts("control_plane"):
        for pod in ("etcd-main", "etcd-events", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            assert f"{pod}-{node}" in pods


def test_components_listen_on_gardenadms_ports(brought_up) -> None:
    listening = e2e.ssh(MACHINE, "ss -Hltn | awk '{print $4}'").stdout.split()
    ip = e2e.hostvar(MACHINE, "node_ip")
    expected = {"*:443", "*:10250", "127.0.0.1:10257", "127.0.0.1:10259", "127.0.0.1:2381", "127.0.0.1:2384"}
    expected |= {f"{address}:{port}" for address in ("127.0.0.1", ip) for port in (2379, 2382)}
    expected |= {f"{ip}:2380", f"{ip}:2383"}
    assert expected <= set(listening)


def test_kube_system_is_labelled_as_a_self_hosted_shoot(brought_up) -> None:
    namespace = e2e.kubectl_json("get", "namespace", "kube-system")
    assert namespace["metadata"]["labels"]["gardener.cloud/role"] == "shoot"


def test_anonymous_requests_are_refused(brought_up) -> None:
    answer = e2e.ssh(MACHINE, "curl -s -o /dev/null -w '%{http_code}' -k https://127.0.0.1:443/api")
    assert answer.stdout == "401"
