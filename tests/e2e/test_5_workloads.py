"""A Deployment the scheduler places runs, and its ClusterIP Service answers from every machine (kube-proxy)."""

from __future__ import annotations

from e2e import localsite as e2e

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: echo, namespace: default}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: echo}}}}
  template:
    metadata: {{labels: {{app: echo}}}}
    spec:
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {{matchLabels: {{app: echo}}}}}}
      containers:
        - name: echo
          image: {image}
          imagePullPolicy: Never
          command:
            - sh
            - -c
            - mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www
          ports: [{{containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: default}}
spec:
  selector: {{app: echo}}
  ports: [{{port: 80, targetPort: 8080, protocol: TCP}}]
"""


def test_a_service_reaches_its_pods_from_every_machine(brought_up, tmp_path) -> None:
    (tmp_path / "echo.yaml").write_text(MANIFEST.format(image=e2e.bundle_image("busybox")))
    applied = e2e.kubectl("apply", "--filename", str(tmp_path / "echo.yaml"))
    assert applied.returncode == 0, applied.stderr
    try:
        rollout = e2e.kubectl("rollout", "status", "deployment/echo", "--timeout=180s", timeout=200)
        assert rollout.returncode == 0, rollout.stdout + rollout.stderr
        pods = e2e.kubectl_json("get", "pods", "--selector", "app=echo")["items"]
        assert {pod["spec"]["nodeName"] for pod in pods} <= set(e2e.inventory_hosts("workers"))
        names = {pod["metadata"]["name"] for pod in pods}
        address = e2e.kubectl_json("get", "service", "echo")["spec"]["clusterIP"]
        for machine in e2e.inventory_hosts("control_plane") + e2e.inventory_hosts("workers"):
            # Enough requests that both pods (on two other or the same machines) answer.
            answers = e2e.ssh(machine, f"for i in $(seq 12); do curl -s -m 3 http://{address}/; done").stdout
            assert {f"hello from {name}" for name in names} == set(answers.splitlines()), machine
    finally:
        e2e.kubectl("delete", "--filename", str(tmp_path / "echo.yaml"), "--wait=false")
