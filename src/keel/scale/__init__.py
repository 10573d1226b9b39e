"""Scale-out of keel's heavy passes: one small executor interface with a local default and a
Ray implementation (the `[scale]` extra).

Every pass that takes an `executor` (the collapse watch's counts, MinHash signatures, judge
runs, ingest's entry building) maps pure functions over chunks with `Executor.map` and merges
the results on the driver in input order, so its output is byte-identical whichever executor
ran it; only the driver writes to the ledger. Ray does the scheduling: keel never runs a
scheduler of its own.
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.scale.executor import (
        Executor,
        LocalExecutor,
        check_spec,
        chunked,
        executor_for,
        resolve,
    )
    from keel.scale.ray import RayExecutor

lazy(
    __name__,
    {
        "executor": (
            "Executor",
            "LocalExecutor",
            "check_spec",
            "chunked",
            "executor_for",
            "resolve",
        ),
        "ray": ("RayExecutor",),
    },
)

__all__ = [
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "check_spec",
    "chunked",
    "executor_for",
    "resolve",
]
