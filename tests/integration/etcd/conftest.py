"""Fixture ``etcd_site``: an empty EtcdSite (etcd_harness.py) per test; members are created and
started by the test. Missing etcd binaries or unusable loopback addresses fail the test."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_harness import EtcdMissing, EtcdSite, etcd_binaries, free_port


@pytest.fixture
def etcd_site() -> Iterator[EtcdSite]:
    try:
        etcd, etcdctl = etcd_binaries()
    except EtcdMissing as error:
        pytest.fail(f"etcd cannot start: {error}", pytrace=False)
    try:
        free_port("127.0.0.5")
    except OSError as error:
        pytest.fail(f"the loopback addresses 127.0.0.2-5 are not usable here: {error}", pytrace=False)
    # tmpfs when there is one: etcd fsyncs every write.
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    site = EtcdSite(Path(tempfile.mkdtemp(prefix="etcd-member-", dir=memory)), etcd, etcdctl)
    try:
        yield site
    finally:
        site.close()
