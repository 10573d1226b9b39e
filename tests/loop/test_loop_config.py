"""loop.toml: every key checked before anything runs, with the file, table and key named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from keel.errors import ConfigError
from keel.loop import load_config
from keel.loop.demo import ARMS, arm_config
from keel.loop.toml import dumps
from small_loop import small_loop, write_loop

EXAMPLE = Path(__file__).parents[2] / "examples" / "loop.toml"


def test_the_example_config_loads_with_paths_from_its_folder() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.ledger == EXAMPLE.parent / "keel.db"
    assert cfg.mix.alpha >= 0.2 and cfg.mix.gate == "corrected"
    assert cfg.generations == 10


@pytest.mark.parametrize("arm", ARMS)
def test_demo_arms_are_valid_configs(tmp_path: Path, arm: str) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(dumps(arm_config(arm, generations=10, seed=0)))
    cfg = load_config(path)
    assert cfg.name == arm and cfg.generations == 10


def test_relative_paths_are_taken_from_the_config_file(tmp_path: Path) -> None:
    path = write_loop(
        tmp_path / "sub",
        ledger="data/l.db",
        human={"corpus": "h.txt", "reference": 40, "fresh": 10},
    )
    cfg = load_config(path)
    assert cfg.ledger == tmp_path / "sub" / "data" / "l.db"
    assert cfg.human.corpus == str(tmp_path / "sub" / "h.txt")


def _error(tmp_path: Path, **overrides: Any) -> str:
    path = write_loop(tmp_path, **overrides)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert message.startswith(str(path))
    return message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"generatons": 3}, "unknown key 'generatons' in the top level; known keys:"),
        ({"mix": {"alpah": 0.2}}, "unknown key 'alpah' in [mix]"),
        ({"generations": "ten"}, "generations must be an integer, got 'ten'"),
        ({"generations": 0}, "[loop] generations must be ≥ 1, got 0"),
        ({"mix": {"gate": "maybe"}}, "mix.gate must be one of 'corrected', 'judges', 'none'"),
        ({"mix": {"alpha": 1.5}}, "alpha (the verified share) must be in [0, 1], got 1.5"),
        ({"mix": {"lineage": "yes"}}, "mix.lineage must be true or false"),
        ({"generator": {"temperature": 0}}, "[generator] temperature must be > 0"),
        ({"judges": {"kind": "likelihood"}}, "judges must be an array of tables ([[judges]])"),
        ({"judges": [{"alpha": 0.1}]}, "[judges] needs the key 'kind'"),
        ({"judges": [{"kind": "llm"}]}, "an llm judge needs base_url, model and rubric"),
        ({"name": "two words"}, "the loop name 'two words' must be"),
        (
            {"generator": {"kind": "served", "base_url": "http://x/v1", "model": "m"}},
            "kind = 'served' needs base_url, model and train_command",
        ),
        ({"experts": {"budget": 0}}, "gate = 'corrected' chooses its rule on expert anchors"),
        ({"human": {"fresh": 0}}, "needs fresh human texts each generation"),
        (
            {"mix": {"gate": "judges"}, "judges": []},
            "gate = 'judges' needs at least one [[judges]]",
        ),
        (
            {"judges": [{"kind": "likelihood"}, {"kind": "likelihood"}]},
            "two judges share an id",
        ),
    ],
)
def test_bad_settings_name_the_key(
    tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    assert expected in _error(tmp_path, **overrides)


def test_not_toml_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="No such file"):
        load_config(tmp_path / "missing.toml")


def test_the_small_test_loop_round_trips_through_toml() -> None:
    table = small_loop()
    assert tomllib.loads(dumps(table)) == table
