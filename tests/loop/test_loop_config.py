"""loop.toml: every key checked before anything runs, with the file, table and key named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from tomli_w import dumps

from keel.errors import ConfigError
from keel.loop import LoopConfig, MixConfig, load_config
from keel.loop.config import MAX_CONFIG_BYTES
from keel.loop.demo import ARMS, arm_config, run_demo
from keel.loop.run import config_json
from keel.records import canonical
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


def test_a_config_built_in_python_takes_paths_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = LoopConfig(name="x", mix=MixConfig(gate="none", human="accumulated"))
    assert cfg.ledger == tmp_path.resolve() / "keel.db"


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
        ({"generations": "ten"}, "generations: must be an integer, got 'ten'"),
        ({"generations": 0}, "generations: must be from 1 to 1,000, got 0"),
        ({"generations": 1001}, "generations: must be from 1 to 1,000, got 1001"),
        ({"seed": -1}, "seed must be from 0 to 2**53 - 1, got -1"),
        ({"seed": 2**53}, "seed must be from 0 to 2**53 - 1"),
        (
            {"generator": {"max_tokens": 100_000_000}},
            "[generator] max_tokens: must be from 1 to 2,048, got 100000000",
        ),
        ({"generator": {"samples": 100_001}}, "[generator] samples: must be from 1 to 100,000"),
        ({"generator": {"steps": 0}}, "[generator] steps: must be from 1 to 1,000,000"),
        ({"generator": {"concurrency": 0}}, "[generator] concurrency: must be from 1 to 1,024"),
        (
            {"judges": [{"kind": "likelihood", "order": 0}]},
            "[[judges]] #1 order: must be ≥ 1, got 0",
        ),
        ({"review": {"budget": 10**6}}, "[review] budget: must be from 0 to 100,000"),
        (
            {"name": "x y" * 5000},
            "name: must be non-empty letters, digits, '-', '_' or '.', got 'x yx yx yx y...yx yx",
        ),
        ({"seed": [[[[[[[[0]]]]]]]]}, "seed: must be an integer, got [[[[[[[...]]]]]]]"),
        (
            {"mix": {"gate": "maybe"}},
            "[mix] gate: must be one of 'corrected', 'judges' or 'none', got 'maybe'",
        ),
        ({"mix": {"alpha": 1.5}}, "alpha (the verified share) must be in [0, 1], got 1.5"),
        ({"mix": {"lineage": "yes"}}, "[mix] lineage: must be true or false, got 'yes'"),
        ({"generator": {"temperature": 0}}, "[generator] temperature: must be > 0, got 0"),
        ({"judges": {"kind": "likelihood"}}, "judges: must be an array of tables ([[judges]])"),
        ({"judges": [{"alpha": 0.1}]}, "missing key 'kind' in [[judges]] #1"),
        (
            {"judges": [{"kind": "likelihood"}, {"kind": "repetition", "alpha": 1}]},
            "[[judges]] #2 alpha: must be in (0, 1), got 1",
        ),
        ({"review": {"random_share": 0}}, "[review] random_share: must be in (0, 1], got 0"),
        ({"mix": {"alpha": "0.2"}}, "[mix] alpha: must be a number, got '0.2'"),
        ({"generator": 3}, "generator: must be a table, got 3"),
        ({"judges": [{"kind": "llm"}]}, "an llm judge needs base_url, model and rubric"),
        ({"name": "two words"}, "name: must be non-empty letters, digits, '-', '_' or '.', got"),
        (
            {"generator": {"kind": "served", "base_url": "http://x/v1", "model": "m"}},
            "kind = 'served' needs base_url, model and train_command",
        ),
        ({"review": {"budget": 0}}, "gate = 'corrected' chooses its rule on expert anchors"),
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


WEB = {"reviewer": "web", "budget": 60}


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ({"panel": "simulated"}, "unknown key 'panel' in [review]; known keys: budget,"),
        ({"reviewer": "people"}, "[review] reviewer: must be one of 'simulated' or 'web'"),
        ({**WEB, "overlap": 0}, "[review] overlap: must be from 1 to 100, got 0"),
        ({**WEB, "reviewers": "ana"}, "[review] reviewers: must be an array, got 'ana'"),
        ({**WEB, "reviewers": ["ana", 1]}, "[review] reviewers #2: must be a string, got 1"),
        ({**WEB, "reviewers": ["ana", "a b"]}, "'a b' is not a reviewer's name"),
        ({**WEB, "reviewers": ["ana", "ana"]}, "a reviewer is named twice"),
        ({**WEB, "reviewers": ["ana"], "overlap": 2}, "overlap = 2 needs at least 2 reviewers"),
        ({**WEB, "url": "127.0.0.1:8765"}, "[review] url: must be an http:// or https://"),
        ({**WEB, "min_anchors": -1}, "[review] min_anchors: must be from 0 to 100,000"),
        ({"budget": 60, "reviewers": ["ana"]}, "reviewers and overlap are for people"),
        ({"budget": 60, "overlap": 2}, "reviewers and overlap are for people"),
        ({"budget": 0, "min_anchors": 1}, "min_anchors = 1 needs a budget > 0"),
        # the simulated panel draws ceil(0.5 × 60) = 30 records at random a generation
        (
            {"budget": 60, "min_anchors": 31},
            "[review] min_anchors = 31 cannot be met: the simulated panel draws 30 records",
        ),
    ],
)
def test_bad_review_settings_name_the_key(
    tmp_path: Path, review: dict[str, Any], expected: str
) -> None:
    mix = {"alpha": 0.2, "size": 200, "gate": "judges"}
    assert expected in _error(tmp_path, review=review, mix=mix)


def test_review_settings_for_people(tmp_path: Path) -> None:
    cfg = load_config(write_loop(tmp_path, review={**WEB, "reviewers": ["ana", "bo"],
                                                   "overlap": 2, "min_anchors": 40}))  # fmt: skip
    review = cfg.review
    assert (review.reviewer, review.reviewers, review.overlap) == ("web", ("ana", "bo"), 2)
    assert review.url == "http://127.0.0.1:8765/" and review.min_anchors == 40
    # people may fall short of min_anchors in a round (the loop then waits): not a config error
    assert load_config(write_loop(tmp_path, review={**WEB, "min_anchors": 60})).review.budget
    simulated = load_config(write_loop(tmp_path, review={"budget": 60, "min_anchors": 30}))
    assert simulated.review.reviewer == "simulated"
    assert simulated.review.random_anchors(cfg.generator.samples) == 30
    assert simulated.review.random_anchors(10) == 5


SERVED = {"kind": "served", "base_url": "http://10.0.0.5:8000/v1", "model": "m",
          "train_command": "train"}  # fmt: skip
LLM_JUDGE = {"kind": "llm", "base_url": "http://127.0.0.1:8000/v1", "model": "m", "rubric": "r"}


def test_served_models_keep_their_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    assert "[generator]: $OPENAI_API_KEY is set and http://10.0.0.5:8000/v1 is plain http" in (
        _error(tmp_path, generator=SERVED)
    )
    judge = {**LLM_JUDGE, "api_key_env": "AWS_SECRET_ACCESS_KEY"}
    assert (
        "[[judges]] #1: keel reads an API key only from a variable whose name ends in _API_KEY"
        in _error(tmp_path, judges=[judge])
    )
    path = write_loop(tmp_path, generator={**SERVED, "allow_insecure": True}, judges=[LLM_JUDGE])
    cfg = load_config(path)
    assert cfg.generator.allow_insecure and not cfg.judges[0].allow_insecure


MINIMAL = 'name = "x"\n{}[mix]\ngate = "none"\nhuman = "accumulated"\n'
"""A valid loop file with room for top-level lines (the values dumps cannot write)."""


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("generator = { temperature = nan }\n", "[generator] temperature: must be a finite number"),
        ("review = { error_rate = -inf }\n", "[review] error_rate: must be a finite number"),
        ("seed = " + "[" * 2000 + "]" * 2000 + "\n", "nest deeper than 16 levels"),
        ("seed = " + "[" * 17 + "]" * 17 + "\n", "'seed': tables and arrays nest deeper than 16"),
        ("seed = 0x" + "f" * 4000 + "\n", "'seed' holds an integer beyond 64 bits"),
        ("seed = " + "9" * 5000 + "\n", "an integer beyond 64 bits (TOML's limit)"),
        ('ledger = "a\\u0000b"\n', "ledger: 'a\\x00b' is not a usable path"),
    ],
)
def test_values_past_the_limits_are_refused(tmp_path: Path, lines: str, expected: str) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(MINIMAL.format(""))
    assert load_config(path).name == "x"
    path.write_text(MINIMAL.format(lines))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert expected in str(exc.value)
    assert len(str(exc.value)) < 300


def test_a_file_past_the_size_limit_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(MINIMAL.format("# " + "x" * MAX_CONFIG_BYTES + "\n"))
    with pytest.raises(ConfigError, match="larger than 1,048,576 bytes"):
        load_config(path)


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


def test_several_errors_are_one_line_naming_the_first(tmp_path: Path) -> None:
    message = _error(tmp_path, mix={"size": "big", "sise": 10, "gate": "none"})
    assert message.endswith("[mix] size: must be an integer, got 'big' (and 1 more)")
    assert "\n" not in message


STORED = (
    '{"generator":{"allow_insecure":false,"api_key_env":"OPENAI_API_KEY","base_url":"",'
    '"concurrency":16,"kind":"ngram","max_tokens":30,"model":"","order":3,"prompt_tokens":2,'
    '"samples":300,"steps":300,"temperature":1,"train_command":""},'
    '"human":{"corpus":"fortunes","fresh":40,"initial":200,"reference":300},'
    '"judges":[{"allow_insecure":false,"alpha":0.1,"api_key_env":"OPENAI_API_KEY",'
    '"base_url":"","concurrency":16,"id":"","kind":"likelihood","model":"","order":3,'
    '"rubric":""},{"allow_insecure":false,"alpha":0.1,"api_key_env":"OPENAI_API_KEY",'
    '"base_url":"","concurrency":16,"id":"","kind":"repetition","model":"","order":3,'
    '"rubric":""}],"ledger":"LEDGER","mix":{"alpha":0.2,"confidence":0.95,"dedup":true,'
    '"gate":"corrected","human":"fresh","lineage":true,"size":200,"tails":true,'
    '"target_precision":0.6},"name":"small","origin":"",'
    '"review":{"budget":60,"error_rate":0.05,"min_anchors":0,"overlap":1,"random_share":0.5,'
    '"reviewer":"simulated","reviewers":[],"url":"http://127.0.0.1:8765/"},"seed":3}'
)
"""The small loop's settings as a ledger stores them. A ledger is resumed only with the same
bytes, so a change here is a change of shape: ledgers started before it must be resumed by the
keel that started them (as those from before `[experts]` became `[review]`)."""


def test_the_stored_config_keeps_its_bytes(tmp_path: Path) -> None:
    cfg = load_config(write_loop(tmp_path))
    expected = STORED.replace("LEDGER", str(tmp_path.resolve() / "keel.db"))
    assert canonical(config_json(cfg)).decode() == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"jobs": 0}, "keel demo: jobs: must be ≥ 1, got 0"),
        ({"generations": 0}, "keel demo: generations: must be from 1 to 1,000, got 0"),
        ({"seed": -1}, "keel demo: seed: must be from 0 to 9,007,199,254,740,991, got -1"),
    ],
)
def test_demo_options_are_checked_before_anything_is_written(
    tmp_path: Path, options: dict[str, int], expected: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        run_demo(tmp_path / "demo", **options)
    assert str(exc.value) == expected
    assert not (tmp_path / "demo").exists()
