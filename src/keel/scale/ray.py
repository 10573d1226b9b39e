"""`RayExecutor`: the executor interface on Ray tasks (the `[scale]` extra).

It joins the cluster at `address` (or RAY_ADDRESS), or starts a local one with `num_cpus` CPUs
and no dashboard when none is given; usage statistics are off (RAY_USAGE_STATS_ENABLED=0) and
token authentication is disabled (RAY_AUTH_MODE=disabled) unless the environment says
otherwise. Ray schedules the tasks; keel keeps at most `concurrency` of them in flight and
yields their results in input order, so memory stays bounded and the output matches the
local run's. A cluster it started is shut down by `close`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any, TypeVar

from keel.errors import ConfigError, require
from keel.scale.executor import Closing

T = TypeVar("T")
R = TypeVar("R")


def load_ray() -> ModuleType:
    """The `ray` package, or a ConfigError saying how to install it."""
    return require(
        "ray", "the ray executor needs Ray: pip install 'keel[scale]' (or pip install ray)"
    )


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


class RayExecutor(Closing):
    """Calls run as Ray tasks, results in input order, a bounded window in flight."""

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None) -> None:
        ray = load_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            joining = address is not None or "RAY_ADDRESS" in os.environ
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if joining:
                options["address"] = address
            else:
                options["num_cpus"] = num_cpus
            try:
                ray.init(**options)
            except ConnectionError as exc:
                raise ConfigError(
                    f"cannot join the Ray cluster at {address or os.environ['RAY_ADDRESS']}: {exc}"
                ) from exc
            self._started = True
        self._address = address
        self._remote = ray.remote(_call)

    @property
    def name(self) -> str:
        return "ray" if self._address is None else f"ray ({self._address})"

    @property
    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int | None = None
    ) -> Iterator[R]:
        """Submit `fn(item)` tasks, at most `concurrency` (default 2 × workers) unfinished or
        unread at once, and yield their results in input order."""
        window = concurrency if concurrency is not None else 2 * self.workers
        if window < 1:
            raise ConfigError(f"concurrency must be at least 1, got {window}")
        return self._map(fn, items, window)

    def _map(self, fn: Callable[[T], R], items: Iterable[T], window: int) -> Iterator[R]:
        ray = self._ray
        shared = ray.put(fn)
        pending: deque[Any] = deque()
        try:
            for item in items:
                if len(pending) >= window:
                    yield ray.get(pending.popleft())
                pending.append(self._remote.remote(shared, item))
            while pending:
                yield ray.get(pending.popleft())
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        """Shut down the Ray runtime if this executor started it."""
        if self._started:
            self._ray.shutdown()
            self._started = False
