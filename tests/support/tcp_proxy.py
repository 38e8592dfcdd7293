"""A TCP forwarder on 127.0.0.1 whose connections a test can cut, to see how clients cope with a
broken connection (an API server restart, a load balancer closing idle connections).

    with TcpProxy(target_port) as proxy:
        ... connect to proxy.port ...
        proxy.drop_connections()   # every open connection is closed, new ones are accepted
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Callable, Optional


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0  # connections accepted so far
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> TcpProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(
        self, exc_type: Optional[type], exc: Optional[BaseException], traceback: Optional[TracebackType]
    ) -> None:
        _close(self._listener)  # shutdown wakes the thread blocked in accept(); close alone does not
        self.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)

    def drop_connections(self) -> None:
        with self._lock:
            sockets, self._open = self._open, set()
        _close(*sockets)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        while True:
            try:
                downstream, _address = self._listener.accept()
            except OSError:
                return  # listener closed
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                downstream.close()
                continue
            with self._lock:
                self.accepted += 1
                self._open.update((downstream, upstream))
            self._spawn(self._pump, downstream, upstream)
            self._spawn(self._pump, upstream, downstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # cut by drop_connections or by a peer
        # HTTP needs no half-closed connections: when one side ends, end both.
        with self._lock:
            self._open.difference_update((source, sink))
        _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
