"""A work queue of object keys, as controller-runtime's: a key waits at most once, one worker at a time
handles it, a key that changes while it is handled is queued again when its worker is done, and a key
can be queued for later (a retry after a failure)."""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Optional


class WorkQueue:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._ready: deque[Hashable] = deque()
        self._waiting: set[Hashable] = set()  # in _ready
        self._processing: set[Hashable] = set()
        self._dirty: set[Hashable] = set()  # changed while processed: queue again when done
        self._later: list[tuple[float, int, Hashable]] = []  # (due, sequence, key), a heap
        self._sequence = 0
        self._closed = False

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        with self._condition:
            if delay > 0:
                self._sequence += 1
                heapq.heappush(self._later, (time.monotonic() + delay, self._sequence, key))
            elif key in self._processing:
                self._dirty.add(key)
            elif key not in self._waiting:
                self._waiting.add(key)
                self._ready.append(key)
            self._condition.notify()

    def get(self) -> Optional[Hashable]:
        """The next key, blocking until there is one; None once the queue is closed."""
        with self._condition:
            while True:
                self._promote_due()
                if self._closed:
                    return None
                if self._ready:
                    key = self._ready.popleft()
                    self._waiting.discard(key)
                    self._processing.add(key)
                    return key
                timeout = self._later[0][0] - time.monotonic() if self._later else None
                self._condition.wait(timeout)

    def done(self, key: Hashable) -> None:
        with self._condition:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._waiting.add(key)
                self._ready.append(key)
                self._condition.notify()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _promote_due(self) -> None:
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            _, _, key = heapq.heappop(self._later)
            if key in self._processing:
                self._dirty.add(key)
            elif key not in self._waiting:
                self._waiting.add(key)
                self._ready.append(key)
