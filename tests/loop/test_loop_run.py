"""The loop on a real ledger: every step logged with its lineage, and resuming after a crash at
any step gives exactly the ledger of an uninterrupted run (same entries, same tree root)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import keel.loop.run as loop_run
from keel.errors import ConfigError, InputError, ServiceError, VerificationError
from keel.ledger import Ledger, Snapshot, texts, verify
from keel.loop import LoopResult, Step, load_config, run_loop
from keel.mix import read_mix
from keel.models import NGramModel
from keel.records import Mix, Run, text_record
from keel_cli import Cli
from openai_server import judge_by_keyword, serve
from small_loop import write_loop


class CrashError(Exception):
    """Raised from the progress callback to stop the loop right after a step."""


def entries(db: Path) -> tuple[int, bytes, list[bytes]]:
    with Ledger.open(db, create=False) as led:
        return led.size, led.root(), [loc.raw for loc in led.iter_located()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoopResult, Path]:
    """One uninterrupted run of the small loop."""
    path = write_loop(tmp_path_factory.mktemp("reference"))
    return run_loop(load_config(path)), path.parent / "keel.db"


def test_every_step_is_logged_with_its_lineage(reference: tuple[LoopResult, Path]) -> None:
    result, db = reference
    with Ledger.open(db, create=False) as led:
        snap = Snapshot.load(led)
        by_gen = Counter((j.record.origin, j.record.generation) for j in snap.records)
        assert by_gen[("human", 0)] == 200
        assert by_gen[("human", 1)] == by_gen[("human", 2)] == 40
        mixes = [led.at(i) for i in led.store.entries_of_kind("mix")]
        runs = [led.at(i).entry for i in led.store.entries_of_kind("run")]
        assert sorted(m.entry.generation for m in mixes if isinstance(m.entry, Mix)) == [1, 2, 3]
        assert len(runs) == 2
        for g in (1, 2):
            mine = [
                j
                for j in snap.records
                if j.record.generation == g and j.record.origin == "synthetic"
            ]
            assert 290 <= len(mine) <= 300  # identical samples of one parent are one record
            trained_on = next(
                m for m in mixes if isinstance(m.entry, Mix) and m.entry.generation == g
            )
            members = {m.id for m in read_mix(led, trained_on.id).members}
            # each text continues a member of the mix its model was trained on
            assert all(len(j.record.parents) == 1 and j.record.parents[0] in members for j in mine)
            run = next(r for r in runs if isinstance(r, Run) and r.mix == trained_on.id)
            assert mine[0].record.producer is not None
            assert mine[0].record.producer.params["run"] == run.model == f"small-ngram/gen-{g}"
            # every judge judged every record; the experts reviewed the budget
            assert all({v.judge for v in j.ai} == {"ngram3-human", "distinct3-human"} for j in mine)
            rubrics = Counter(j.expert[-1].rubric for j in mine if j.expert)
            assert rubrics == {"keel-review/random": 30, "keel-review/uncertain": 30}
        checkpoint = led.latest_checkpoint()
        assert checkpoint is not None and checkpoint.size == led.size == result.ledger_size
        assert verify(led.store, led.verifier()).ok
    assert [g.generation for g in result.generations] == [0, 1, 2]
    assert all(g.mix_counts["members_verified"] >= 40 for g in result.generations)
    assert result.watch.generations[0].ratios["tail"] > 0.9  # generation 0 is human text


def test_keel_watch_on_the_ledger_is_the_loops_own_watch(
    reference: tuple[LoopResult, Path], cli: Cli
) -> None:
    """`keel watch --ledger` reads the generations, the held-out reference and the metric
    settings the loop used: the same figures and verdicts, generation by generation."""
    result, db = reference
    doc = cli.json("watch", "--ledger", db=db)
    assert doc["generations"] == json.loads(
        json.dumps([g.watch.to_json() for g in result.generations])
    )
    assert [g["alpha"] for g in doc["generations"]] == [1.0, 0.0, 0.0]  # no fresh human texts


@pytest.mark.parametrize(
    "crash_at",
    [
        (1, "train"),
        (1, "generate"),
        (2, "judge"),
        (2, "review"),
        (2, "human"),
        (2, "mix"),
        (2, "watch"),
    ],
)
def test_resume_after_a_crash_matches_an_uninterrupted_run(
    tmp_path: Path, reference: tuple[LoopResult, Path], crash_at: tuple[int, str]
) -> None:
    path = write_loop(tmp_path)

    def crash(step: Step) -> None:
        if (step.generation, step.name) == crash_at and not step.skipped:
            raise CrashError

    with pytest.raises(CrashError):
        run_loop(load_config(path), on_step=crash)
    resumed = run_loop(load_config(path))
    assert resumed.skipped_steps > 0
    assert entries(tmp_path / "keel.db") == entries(reference[1])
    assert [g.watch.ratios for g in resumed.generations] == [
        g.watch.ratios for g in reference[0].generations
    ]


def test_a_finished_loop_reruns_without_appending(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1)
    first = run_loop(load_config(path))
    again = run_loop(load_config(path))
    assert again.ledger_size == first.ledger_size
    assert again.skipped_steps == 1 + 1 + 6  # gen-0 human and mix; gen-1 train..mix
    assert again.checkpoint == first.checkpoint


def test_more_generations_extend_the_loop(
    tmp_path: Path, reference: tuple[LoopResult, Path]
) -> None:
    path = write_loop(tmp_path, generations=1)
    run_loop(load_config(path))
    write_loop(tmp_path, generations=2)
    run_loop(load_config(path))
    assert entries(tmp_path / "keel.db") == entries(reference[1])


def test_the_same_config_resumes_through_any_spelling_of_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_loop(tmp_path / "loops", generations=1)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    first = run_loop(load_config(Path("loops/loop.toml")))
    for cwd, spelling in [
        (tmp_path / "loops", Path("loop.toml")),
        (tmp_path / "elsewhere", Path("../elsewhere/../loops/loop.toml")),
        (tmp_path / "elsewhere", path),
    ]:
        monkeypatch.chdir(cwd)
        again = run_loop(load_config(spelling))
        assert again.skipped_steps == 1 + 1 + 6
        assert again.ledger_size == first.ledger_size
    assert not (tmp_path / "elsewhere" / "keel.db").exists()


def test_changed_settings_are_refused_on_resume(tmp_path: Path) -> None:
    path = write_loop(tmp_path, generations=1)
    run_loop(load_config(path))
    write_loop(tmp_path, generations=1, seed=4)
    with pytest.raises(ConfigError, match="other settings"):
        run_loop(load_config(path))


def test_a_ledger_the_loop_did_not_write_is_refused(tmp_path: Path) -> None:
    path = write_loop(tmp_path)
    with Ledger.open(tmp_path / "keel.db") as led:
        led.append([text_record("someone else's record", "human")])
    with pytest.raises(ConfigError, match="no loop wrote"):
        run_loop(load_config(path))


def test_a_retrained_model_must_reproduce_its_logged_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_loop(tmp_path, generations=1)

    def crash(step: Step) -> None:
        if step.name == "train" and step.generation == 1:
            raise CrashError

    with pytest.raises(CrashError):
        run_loop(load_config(path), on_step=crash)

    def other_model(cfg: Any, texts: list[str], seed: int) -> NGramModel:
        return NGramModel.train(texts[1:], order=cfg.generator.order)

    monkeypatch.setattr(loop_run, "train_model", other_model)
    with pytest.raises(VerificationError, match="does not reproduce the digest"):
        run_loop(load_config(path))


def test_a_corpus_too_small_for_the_loop_is_a_config_error(tmp_path: Path) -> None:
    corpus = tmp_path / "human.txt"
    corpus.write_text("".join(f"human text number {i}\n" for i in range(100)))
    path = write_loop(
        tmp_path, human={"corpus": "human.txt", "reference": 50, "initial": 40, "fresh": 10}
    )
    with pytest.raises(ConfigError, match=r"has 100 distinct texts; this loop needs 110"):
        run_loop(load_config(path))


def test_a_binary_corpus_is_refused_before_the_ledger_is_made(tmp_path: Path) -> None:
    (tmp_path / "human.txt").write_bytes(bytes(range(256)) * 10)
    path = write_loop(tmp_path, human={"corpus": "human.txt", "reference": 40, "fresh": 10})
    with pytest.raises(InputError, match=r"human.txt:2: not UTF-8"):
        run_loop(load_config(path))
    assert not (tmp_path / "keel.db").exists()


def test_an_llm_judge_on_a_loopback_server_judges_every_record_once(tmp_path: Path) -> None:
    rubric = tmp_path / "quality.toml"
    rubric.write_text('id = "quality"\ntext = """Accept good texts."""\n')
    with serve(judge_by_keyword) as fake:
        path = write_loop(
            tmp_path,
            generations=1,
            judges=[
                {"kind": "likelihood", "alpha": 0.1},
                {"kind": "llm", "base_url": fake.base_url, "model": "jm", "rubric": "quality.toml"},
            ],
            review={"budget": 0},
            mix={"alpha": 0.2, "size": 200, "gate": "judges"},
        )
        result = run_loop(load_config(path))
        calls = fake.calls
        assert calls == result.generations[1].records
        run_loop(load_config(path))
        assert fake.calls == calls  # resumed: nothing judged twice
    with Ledger.open(tmp_path / "keel.db", create=False) as led:
        snap = Snapshot.load(led)
        judged = [j for j in snap.records if j.record.origin == "synthetic"]
        text = texts(led, judged)
    llm = [[v for v in j.ai if v.judge == "llm:jm"] for j in judged]
    assert all(len(v) == 1 for v in llm)
    # the server accepts exactly the texts that say "good"
    assert [v[0].label == "accept" for v in llm] == ["good" in (t or "") for t in text]
    assert {v.rubric for j in judged for v in j.ai if v.judge == "llm:jm"} == {
        next(v.rubric for v in judged[0].ai if v.judge == "llm:jm")
    }


TRAINER = """
import hashlib, json, sys
mix, generation, log = sys.argv[1:4]
data = open(mix, "rb").read()
assert all(json.loads(line)["text"] for line in data.splitlines())
with open(log, "a") as f:
    f.write(generation + "\\n")
print("fine-tuning on", mix)
digest = hashlib.sha256(data).hexdigest()
print(json.dumps({"model": f"tuned-{generation}", "artifact_sha256": digest}))
"""


def continuation(body: dict[str, Any]) -> str:
    """A served model's answer: a few words, different for every seed."""
    return f"and then it went on, draw {body.get('seed')}."


def served_loop(tmp_path: Path, base_url: str, trainer: str = TRAINER) -> Path:
    script = tmp_path / "trainer.py"
    script.write_text(trainer)
    command = f"{sys.executable} {script} {{mix}} {{generation}} {tmp_path / 'trained.log'}"
    generator = {"kind": "served", "base_url": base_url, "model": "base", "samples": 50}
    return write_loop(tmp_path, generator={**generator, "train_command": command})


def test_a_served_model_trained_by_a_command_each_generation(tmp_path: Path) -> None:
    with serve(continuation) as fake:
        path = served_loop(tmp_path, fake.base_url)

        def crash(step: Step) -> None:
            if (step.generation, step.name) == (2, "judge") and not step.skipped:
                raise CrashError

        with pytest.raises(CrashError):
            run_loop(load_config(path), on_step=crash)
        calls = fake.calls
        run_loop(load_config(path))
        assert fake.calls == calls  # generation 2 was generated before the crash: not again
        assert {b["model"] for b in fake.bodies} == {"tuned-1", "tuned-2"}
    # each generation trained once, even across the crash
    assert (tmp_path / "trained.log").read_text().split() == ["1", "2"]
    with Ledger.open(tmp_path / "keel.db", create=False) as led:
        runs = [led.at(i).entry for i in led.store.entries_of_kind("run")]
        snap = Snapshot.load(led)
        for g, run in enumerate(runs, start=1):
            assert isinstance(run, Run) and run.model == f"tuned-{g}"
            mix_file = tmp_path / "keel.db.mixes" / f"gen-{g}.jsonl"
            assert run.artifact_sha256 == hashlib.sha256(mix_file.read_bytes()).hexdigest()
            members = {m.id for m in read_mix(led, run.mix).members}
            mine = [j for j in snap.records if j.record.generation == g and j.record.producer]
            assert len(mine) == 50
            assert all(j.record.parents[0] in members for j in mine)
            assert {j.record.producer.params["run"] for j in mine if j.record.producer} == {
                run.model
            }


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        ("import sys; sys.exit('out of GPU memory')", "exited with 1 on .*out of GPU memory"),
        ("print('done')", "must end its output with a JSON line"),
    ],
)
def test_a_failing_training_command_stops_the_loop(
    tmp_path: Path, trainer: str, message: str
) -> None:
    with serve(continuation) as fake:
        path = served_loop(tmp_path, fake.base_url, trainer)
        with pytest.raises(ServiceError, match=message):
            run_loop(load_config(path))
