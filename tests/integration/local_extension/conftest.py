"""Fixtures for the medium-touch substrate (see medium_touch.py), against the real Docker engine.

- ``bootstrap_cluster`` (module): a bootstrap cluster on a free port of 127.0.0.1:6600-6699, stopped at
  the end;
- ``local_extension`` (module): the extension for a site of its own (random name, a free 10.241.x.0/24
  machine network, API port from 6600-6699, bastion ports 2400-2499) against that cluster; ``cleanup``
  at the end removes what it created, by id.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from medium_touch import (
    API_PORTS,
    BASTION_PORTS,
    BOOTSTRAP_CLUSTER,
    LOCAL_EXTENSION,
    BootstrapCluster,
    LocalExtension,
    free_port,
    free_subnet,
    node_image,
    run_script,
)


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        pytest.fail(f"the Docker engine cannot be used: {error} (hack/setup-docker.sh starts it)", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def bootstrap_cluster() -> Iterator[BootstrapCluster]:
    # tmpfs when there is one: etcd fsyncs every write.
    parent = Path(tempfile.mkdtemp(prefix="bootstrap-cluster-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    state_dir, port = parent / "cluster", free_port(API_PORTS)
    try:
        started = run_script(BOOTSTRAP_CLUSTER, "start", "--state-dir", str(state_dir), "--port", str(port))
        if started.returncode != 0:
            pytest.fail(f"hack/bootstrap-cluster.py start failed:\n{started.stderr}", pytrace=False)
        yield BootstrapCluster(state_dir, state_dir / "admin.kubeconfig", port)
    finally:
        run_script(BOOTSTRAP_CLUSTER, "stop", "--state-dir", str(state_dir))
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def local_extension(
    bootstrap_cluster: BootstrapCluster, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalExtension]:
    extension = LocalExtension(
        state_dir=tmp_path_factory.mktemp("extension") / "state",
        site=f"lx{uuid.uuid4().hex[:6]}",
        nodes_cidr=free_subnet(docker_client),
        api_port=free_port(API_PORTS, but=(bootstrap_cluster.port,)),
        node_image=node_image(docker_client),
    )
    try:
        started = run_script(
            LOCAL_EXTENSION,
            *("start", "--state-dir", str(extension.state_dir), "--kubeconfig", str(bootstrap_cluster.kubeconfig)),
            *("--site", extension.site, "--node-image", extension.node_image, "--api-port", str(extension.api_port)),
            *("--bastion-ports", BASTION_PORTS),
        )
        if started.returncode != 0:
            pytest.fail(f"hack/local-extension/local-extension.py start failed:\n{started.stderr}", pytrace=False)
        yield extension
    finally:
        extension.command("cleanup")
