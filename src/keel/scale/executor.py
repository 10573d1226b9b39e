"""The executor interface: an ordered, streamed map of a pure function over items.

`LocalExecutor` (the default) calls the function in this process, one item at a time;
`keel.scale.ray.RayExecutor` runs the calls as Ray tasks. Both yield results in input order
and keep a bounded number of items in flight, so memory stays bounded on any input size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from types import TracebackType
from typing import Protocol, Self, TypeVar

from keel.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Where keel's heavy passes run their per-chunk work."""

    @property
    def name(self) -> str:
        """`local`, or `ray` (with the cluster's address when it joined one)."""
        ...

    @property
    def workers(self) -> int:
        """How many calls run at once at most (the CPUs it schedules on)."""
        ...

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int | None = None
    ) -> Iterator[R]:
        """`fn(item)` for each item, yielded in input order as they finish; at most
        `concurrency` items (default: a small multiple of `workers`) are in flight. `fn` and
        the items must be picklable for a remote executor; `fn` must not write to a ledger."""
        ...

    def close(self) -> None:
        """Let go of what the executor started (a Ray cluster it launched)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Closing:
    """`with executor:` closes it on the way out (both executors' context manager)."""

    def close(self) -> None:
        """Let go of what the executor started (nothing, unless a subclass says so)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalExecutor(Closing):
    """The default: a plain in-process map, lazy, one item in flight."""

    name = "local"
    workers = 1

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int | None = None
    ) -> Iterator[R]:
        """`fn(item)` for each item, in order, computed as the caller asks for it."""
        return (fn(item) for item in items)


LOCAL = LocalExecutor()


def resolve(executor: Executor | None) -> Executor:
    """`executor`, or the local default for None."""
    return LOCAL if executor is None else executor


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), read lazily."""
    if size < 1:
        raise ConfigError(f"a chunk holds at least 1 item, got {size}")
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def slices(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` cut into consecutive slices of `size` (the last one shorter)."""
    return [items[i : i + size] for i in range(0, len(items), max(size, 1))]


def check_spec(spec: str) -> str:
    """`spec` if it names an executor (`executor_for`), else a ConfigError saying what does."""
    if spec in ("local", "ray", "auto") or spec.startswith("ray://") or ":" in spec:
        return spec
    raise ConfigError(
        f"unknown executor {spec!r}: use local, ray (a local Ray cluster, or the one in "
        "RAY_ADDRESS) or a Ray cluster's address (ray://HOST:10001 or HOST:6379)"
    )


def executor_for(spec: str | None, *, num_cpus: int | None = None) -> Executor:
    """The executor named by `spec`: None or ``local``; ``ray`` (the cluster in RAY_ADDRESS, or a
    new local one with `num_cpus` CPUs); ``ray://HOST:PORT``, ``HOST:PORT`` or ``auto`` (join a
    running cluster there)."""
    if spec is None or check_spec(spec) == "local":
        return LOCAL
    from keel.scale.ray import RayExecutor

    if spec == "ray":
        return RayExecutor(num_cpus=num_cpus)
    return RayExecutor(address=spec)
