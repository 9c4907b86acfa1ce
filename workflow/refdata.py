"""Reference data read on every transition but edited a few times a year (the holiday
calendar, the rule profiles): each process keeps a copy for at most a minute, and the
admin drops it on edit, so the hot path spends no query on them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_AGE_SECONDS = 60.0


class Cached(Generic[T]):
    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None

    def get(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._value[0] > MAX_AGE_SECONDS:
                self._value = (time.monotonic(), self._load())
            return self._value[1]

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


_registry: list[Cached] = []


def cached(load: Callable[[], T]) -> Cached[T]:
    entry = Cached(load)
    _registry.append(entry)
    return entry


def invalidate_all() -> None:
    """After reference data changed (admin save, tests): re-read it on next use."""
    for entry in _registry:
        entry.invalidate()
