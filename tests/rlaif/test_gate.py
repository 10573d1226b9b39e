"""The Goodhart gate: least-squares slopes over a window, and its stop rule (reward hacking:
gold falls while proxy and KL rise) on trajectories with known answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError
from keel.rlaif import GateConfig, check_gate, slope


def test_slope_is_the_least_squares_slope() -> None:
    assert slope([1.0, 3.0, 5.0, 7.0]) == pytest.approx(2.0)
    assert slope([2.0, 2.0, 2.0]) == 0.0
    assert slope([0.0, 1.0, 0.0, 1.0]) == pytest.approx(0.2)


@given(st.floats(-5, 5), st.floats(-5, 5), st.integers(2, 30))
def test_slope_recovers_a_line(a: float, b: float, n: int) -> None:
    assert slope([a + b * t for t in range(n)]) == pytest.approx(b, abs=1e-9)


def test_hacking_is_stopped_with_its_reason() -> None:
    steps = range(10)
    gold = [0.6 - 0.02 * t for t in steps]
    proxy = [0.5 + 0.03 * t for t in steps]
    kl = [0.01 * t for t in steps]
    d = check_gate(gold, proxy, kl, GateConfig(window=6))
    assert d.stop and d.step == 9
    assert "reward hacking over steps 4-9" in d.reason
    assert d.gold_slope == pytest.approx(-0.02)
    assert d.proxy_slope == pytest.approx(0.03)


def test_healthy_run_goes_on() -> None:
    steps = range(12)
    proxy = [0.5 + 0.03 * t for t in steps]
    gold = [0.4 + 0.02 * t for t in steps]
    kl = [0.01 * t for t in steps]
    d = check_gate(gold, proxy, kl)
    assert not d.stop and d.reason.startswith("healthy")


def test_gold_falling_without_a_rising_proxy_is_not_hacking() -> None:
    gold = [0.6 - 0.02 * t for t in range(8)]
    flat = [0.5] * 8
    down = [0.5 - 0.01 * t for t in range(8)]
    rising = [0.01 * t for t in range(8)]
    assert not check_gate(gold, flat, rising).stop
    assert not check_gate(gold, [0.5 + 0.01 * t for t in range(8)], down).stop
    assert not check_gate(gold, down, rising).stop


def test_small_drops_below_the_threshold_go_on() -> None:
    gold = [0.6 - 0.001 * t for t in range(8)]
    up = [0.01 * t for t in range(8)]
    assert not check_gate(gold, up, up, GateConfig(min_gold_drop=0.002)).stop
    assert check_gate(gold, up, up, GateConfig(min_gold_drop=0.0005)).stop


def test_waits_for_a_full_window() -> None:
    d = check_gate([1.0, 0.0], [0.0, 1.0], [0.0, 1.0], GateConfig(window=5))
    assert not d.stop and d.gold_slope is None and "2 of 5" in d.reason


def test_bad_settings_say_what_to_change() -> None:
    with pytest.raises(ConfigError, match="window must be at least 3"):
        GateConfig(window=2)
    with pytest.raises(ConfigError, match="magnitudes"):
        GateConfig(min_gold_drop=-0.1)
    with pytest.raises(ConfigError, match="one gold, proxy and KL value per step"):
        check_gate([1.0], [1.0, 2.0], [1.0])
