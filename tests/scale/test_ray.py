"""The Ray executor on a local 2-CPU cluster (the [scale] extra): results in input order, a
bounded window in flight, and each pass's output byte-identical to the local run. One cluster
serves the whole module (starting one costs ~11 s)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scale_cases import cli_runs, dedup_keepers, ingested, judged, watch_bytes

from extra_modules import need
from keel.errors import InputError
from keel.scale import Executor, RayExecutor, executor_for
from keel_cli import Cli

pytestmark = pytest.mark.extra


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[Executor]:
    ray: Any = need("ray", "scale")
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: unix sockets live under it
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    # The workers cannot import this test module: its task functions travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield executor_for("ray")
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _slow_square(x: int) -> int:
    time.sleep(0.05 * (x % 3))
    return x * x


def _refuse(x: int) -> int:
    if x == 3:
        raise InputError(f"item {x} refused")
    return x


def test_results_come_in_input_order_with_a_bounded_window(ray_executor: Executor) -> None:
    assert isinstance(ray_executor, RayExecutor) and ray_executor.workers == 2
    submitted: list[int] = []

    def items() -> Iterator[int]:
        for i in range(20):
            submitted.append(i)
            yield i

    results = ray_executor.map(_slow_square, items(), concurrency=3)
    first = next(results)
    assert first == 0 and len(submitted) <= 4
    assert [first, *results] == [i * i for i in range(20)]


def test_a_task_error_reaches_the_caller_as_its_own_class(ray_executor: Executor) -> None:
    with pytest.raises(InputError, match="item 3 refused"):
        list(ray_executor.map(_refuse, range(6)))


def test_watch_report_is_byte_identical(ray_executor: Executor) -> None:
    assert watch_bytes(ray_executor) == watch_bytes(None)


def test_dedup_keeps_the_same_texts(ray_executor: Executor) -> None:
    assert dedup_keepers(ray_executor) == dedup_keepers(None)


def test_ingest_writes_the_same_ledger(tmp_path: Path, ray_executor: Executor) -> None:
    assert ingested(tmp_path / "ray", ray_executor) == ingested(tmp_path / "local", None)


def test_judge_run_logs_the_same_verdicts(tmp_path: Path, ray_executor: Executor) -> None:
    assert judged(tmp_path / "ray", ray_executor) == judged(tmp_path / "local", None)


def test_commands_on_ray_print_what_they_print_locally(
    cli: Cli, tmp_path: Path, ray_executor: Executor
) -> None:
    assert cli_runs(cli, tmp_path / "ray", "ray") == cli_runs(cli, tmp_path / "local", "local")
