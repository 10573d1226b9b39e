"""Verdicts from eval tools' logs: an Inspect AI log written by `inspect_ai` itself (a tiny
offline eval on `mockllm/model` over the texts of ledger records) imported as AI-judge
verdicts and audited against expert decisions; lm-evaluation-harness `--log_samples` files
(tests/fixtures/eval_logs, README.md there) imported with their judges and records; bad logs
refused whole (exit 2, nothing appended)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from extra_modules import need
from keel.judges.audit import audit
from keel.judges.evals import inspect_value, judge_table
from keel.ledger import Ledger, Snapshot
from keel.records import Verdict
from keel_cli import Cli

# inspect_ai's own retry set-up calls a deprecated tenacity parameter.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect_ai.*")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval_logs"
RUN = FIXTURES / "EleutherAI__pythia-70m"
DATE = "2026-12-05T10-00-00.123456"
RECORDS = [json.loads(line) for line in (FIXTURES / "records.jsonl").read_text().splitlines()]
TEXT = {r["id"]: r["text"] for r in RECORDS}


@pytest.fixture
def db(tmp_path: Path, cli: Cli) -> Path:
    """A ledger holding the fixture records (external ids r-mito, r-water, r-wall, r-octo)."""
    path = tmp_path / "k.db"
    cli.ok("ingest", str(FIXTURES / "records.jsonl"), "--field", "id=id", "--origin",
           "synthetic", db=path)  # fmt: skip
    return path


def record_ids(db: Path) -> dict[str, str]:
    with Ledger.open(db, readonly=True) as led:
        return led.resolve_aliases(list(TEXT))


def verdicts(db: Path) -> list[Verdict]:
    with Ledger.open(db, readonly=True) as led:
        return [loc.entry for loc in led.entries("verdict") if isinstance(loc.entry, Verdict)]


def size(db: Path) -> int:
    with Ledger.open(db, readonly=True) as led:
        return led.size


# -- Inspect AI ------------------------------------------------------------------------------
def inspect_log(folder: Path, samples: list[Any], *, epochs: int = 1, wrong: str = "") -> Path:
    """Run a task over `samples` with mockllm/model answering "true" (or "false" to inputs
    containing `wrong`) and four scorers; return the .eval log inspect_ai wrote."""
    need("inspect_ai", "evals")
    from inspect_ai import Task
    from inspect_ai import eval as run_eval
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import Score, Target, accuracy, includes, mean, scorer
    from inspect_ai.solver import TaskState, generate

    def answer(messages: list[Any], *_: Any) -> ModelOutput:
        text = messages[-1].text
        out = ModelOutput.from_content("mockllm", "false" if wrong and wrong in text else "true")
        out.usage = ModelUsage(input_tokens=len(text), output_tokens=1, total_tokens=len(text))
        return out  # usage given: mockllm would otherwise fetch a tokenizer over the network

    @scorer(metrics=[mean()])
    def brevity() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            return Score(value=1 / (1 + len(state.output.completion)), explanation="short")

        return score

    @scorer(metrics={"fluency": [accuracy()], "style": [mean()]})
    def checks() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            return Score(value={"fluency": "C", "style": 0.25})

        return score

    task = Task(
        dataset=MemoryDataset(samples),
        solver=generate(),
        scorer=[includes(), brevity(), checks()],
        name="keel_facts",
    )
    model = get_model("mockllm/model", custom_outputs=answer)
    (log,) = run_eval(task, model=model, log_dir=str(folder), display="none", epochs=epochs)
    assert log.status == "success", log.error
    return Path(log.location)


def facts() -> list[Any]:
    """One sample per record, naming it in each way an Inspect sample can."""
    need("inspect_ai", "evals")
    from inspect_ai.dataset import Sample

    return [
        Sample(input=TEXT["r-mito"], target="true", id="r-mito"),  # string id: external id
        Sample(input=TEXT["r-water"], target="true", metadata={"keel_id": "r-water"}),
        Sample(input=TEXT["r-wall"], target="false"),  # input text: payload digest
        Sample(input=TEXT["r-octo"], target="true"),
    ]


@pytest.mark.extra
def test_an_inspect_log_is_imported_and_audited(
    tmp_path: Path, cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    log = inspect_log(tmp_path / "logs", facts(), wrong="Octopuses")
    report = cli.json("ledger", "import-verdicts", "--from", "inspect", str(log), db=db)
    assert (report["rows"], report["appended"], report["existing"]) == (16, 16, 0)
    assert report["found"] == {"external id": 8, "digest": 8}
    ids = record_ids(db)
    by_record = {(v.record, v.judge): v for v in verdicts(db)}
    assert len(by_record) == 16
    includes = {name: by_record[ids[name], "includes:mockllm/model"] for name in TEXT}
    assert {n: (v.label, v.score) for n, v in includes.items()} == {
        "r-mito": ("accept", 1.0), "r-water": ("accept", 1.0),
        "r-wall": ("reject", 0.0), "r-octo": ("reject", 0.0),
    }  # fmt: skip
    mito = ids["r-mito"]
    assert (by_record[mito, "brevity:mockllm/model"].label,
            by_record[mito, "brevity:mockllm/model"].score) == (None, 0.2)  # fmt: skip
    assert by_record[mito, "checks/fluency:mockllm/model"].label == "accept"
    assert by_record[mito, "checks/style:mockllm/model"].score == 0.25
    assert {v.rubric for v in verdicts(db)} == {"inspect:keel_facts"}
    assert {v.judge_kind for v in verdicts(db)} == {"ai"}
    with Ledger.open(db, readonly=True) as led:
        rationale = includes["r-mito"].rationale
        assert rationale is not None and led.payload(rationale.sha256) == b"true"

    again = cli.json("ledger", "import-verdicts", "--from", "inspect", str(log), db=db)
    assert (again["appended"], again["existing"]) == (0, 16)

    # Experts decide; the imported judge is audited against them.
    (tmp_path / "experts.csv").write_text(
        "record,label\nr-mito,accept\nr-water,accept\nr-wall,reject\nr-octo,accept\n"
    )
    cli.ok("ledger", "import-verdicts", "experts.csv", "--judge", "expert:ana", "--kind",
           "expert", db=db)  # fmt: skip
    with Ledger.open(db, readonly=True) as led:
        table = judge_table(Snapshot.load(led), ["includes:mockllm/model"])
    result = audit(table, n_resamples=200, seed=1)
    profile = result.profile("includes:mockllm/model")
    assert profile.n == 4 and profile.confusion == (2, 0, 1, 1)  # tp, fp, fn, tn
    assert profile.figures["accuracy"].value == pytest.approx(0.75)
    report = cli.json("judge", "audit", "--ledger", "--judge", "includes:mockllm/model",
                      "--resamples", "200", "--seed", "1", db=db)  # fmt: skip
    (shown,) = report["judges"]
    assert shown["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 1}
    assert shown["figures"]["accuracy"]["value"] == pytest.approx(0.75)


@pytest.mark.extra
def test_epochs_are_separate_verdicts(tmp_path: Path, cli: Cli, db: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    log = inspect_log(tmp_path / "logs", facts()[:2], epochs=2)
    report = cli.json("ledger", "import-verdicts", "--from", "inspect", str(log), db=db)
    assert report["appended"] == 16
    assert {v.rubric for v in verdicts(db)} == {"inspect:keel_facts#epoch1",
                                               "inspect:keel_facts#epoch2"}  # fmt: skip


@pytest.mark.extra
def test_an_inspect_sample_of_no_record_refuses_the_log(
    tmp_path: Path, cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("inspect_ai", "evals")
    from inspect_ai.dataset import Sample

    monkeypatch.chdir(tmp_path)
    samples = [*facts(), Sample(input="a text keel never logged", target="true", id="q9")]
    log = inspect_log(tmp_path / "logs", samples)
    before = size(db)
    code, _, err = cli("ledger", "import-verdicts", "--from", "inspect", str(log), db=db)
    assert code == 2 and err.count("\n") == 1
    assert ":sample q9: no record with external id 'q9' in this ledger; no record has the " \
        "sample's input text (SHA-256" in err  # fmt: skip
    assert "3 more row(s)" in err  # its other three scores
    assert size(db) == before
    (tmp_path / "junk.eval").write_bytes(b"PK\x03\x04 not a zip")
    code, _, err = cli("ledger", "import-verdicts", "--from", "inspect", "junk.eval", db=db)
    assert code == 2 and "inspect_ai cannot read it as an eval log" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "read"),
    [("C", ("accept", 1.0)), ("I", ("reject", 0.0)), ("P", ("partial", 0.5)),
     ("N", ("noanswer", 0.0)), (True, ("accept", 1.0)), (False, ("reject", 0.0)),
     ("Yes", ("accept", 1.0)), ("false", ("reject", 0.0)), (0.75, (None, 0.75)),
     (3, (None, 3.0)), (" 2.5 ", (None, 2.5)), ("fluent", ("fluent", None)),
     (float("nan"), None), ([1, 2], None), (None, None), ("", None)],
)  # fmt: skip
def test_inspect_score_values(value: object, read: object) -> None:
    assert inspect_value(value) == read


# -- lm-evaluation-harness -------------------------------------------------------------------
def test_lm_eval_samples_are_imported_with_their_task_metric_and_model(cli: Cli, db: Path) -> None:
    files = sorted(str(p) for p in RUN.glob("samples_*.jsonl"))
    report = cli.json("ledger", "import-verdicts", "--from", "lm-eval", *files, db=db)
    assert (report["rows"], report["appended"]) == (8, 8)
    assert report["found"] == {"external id": 2, "digest": 6}
    ids = record_ids(db)
    got = {(v.record, v.judge, v.score, v.label, v.rubric) for v in verdicts(db)}
    model = "EleutherAI/pythia-70m"
    assert got == {
        (ids["r-mito"], f"keel_qa/acc:{model}", 1.0, None, "lm-eval:keel_qa"),
        (ids["r-mito"], f"keel_qa/acc_norm:{model}", 1.0, None, "lm-eval:keel_qa"),
        (ids["r-water"], f"keel_qa/acc:{model}", 1.0, None, "lm-eval:keel_qa"),
        (ids["r-water"], f"keel_qa/acc_norm:{model}", 1.0, None, "lm-eval:keel_qa"),
        (ids["r-wall"], f"keel_qa/acc:{model}", 0.0, None, "lm-eval:keel_qa"),
        (ids["r-wall"], f"keel_qa/acc_norm:{model}", 0.0, None, "lm-eval:keel_qa"),
        (ids["r-octo"], f"keel_gen/exact_match/strict-match:{model}", 0.0, None,
         "lm-eval:keel_gen"),
        (ids["r-octo"], f"keel_gen/exact_match/flexible-extract:{model}", 1.0, None,
         "lm-eval:keel_gen"),
    }  # fmt: skip
    again = cli.json("ledger", "import-verdicts", "--from", "lm-eval", *files, db=db)
    assert (again["appended"], again["existing"]) == (0, 8)


def test_lm_eval_legacy_layout_without_results(cli: Cli, db: Path) -> None:
    path = FIXTURES / "legacy" / "samples_keel_legacy.jsonl"
    report = cli.json("ledger", "import-verdicts", "--from", "lm-eval", str(path), db=db)
    assert report["appended"] == 2 and report["skipped"] == {
        "score values that are not a label or a number": 1  # bleu: a pair of lists
    }
    got = {(v.judge, v.score) for v in verdicts(db)}
    assert got == {("keel_legacy/perplexity", 1.35), ("keel_legacy/acc", 1.0)}


def test_lm_eval_refusals(tmp_path: Path, cli: Cli, db: Path) -> None:
    source = RUN / f"samples_keel_qa_{DATE}.jsonl"
    lines = source.read_text().splitlines()
    unknown = json.loads(lines[2])
    unknown["doc"] = {"text": "not in the ledger", "label": 1}
    unknown["arguments"] = {"gen_args_0": {"arg_0": "not in the ledger either"}}
    bad = tmp_path / source.name
    bad.write_text("\n".join([lines[0], lines[1], json.dumps(unknown)]) + "\n")
    shutil.copy(RUN / f"results_{DATE}.json", tmp_path)
    before = size(db)
    code, _, err = cli("ledger", "import-verdicts", "--from", "lm-eval", str(bad), db=db)
    assert code == 2 and err.count("\n") == 1
    assert f"{bad.name}:3 (doc 2): no record has the prompt text" in err
    assert "no record has the doc's text" in err and "1 more row(s)" in err
    (tmp_path / f"results_{DATE}.json").write_text("{not json")
    code, _, err = cli("ledger", "import-verdicts", "--from", "lm-eval", str(bad), db=db)
    assert code == 2 and "not a readable lm-eval results file" in err
    nameless = tmp_path / "samples_x.jsonl"
    nameless.write_text(json.dumps({"doc_id": 0, "doc": {"q": 1}, "acc": 1.0}) + "\n")
    code, _, err = cli("ledger", "import-verdicts", "--from", "lm-eval", str(nameless), db=db)
    assert code == 2 and "the sample names no record" in err
    for options in (["--from", "lm-evaluation"], ["--from", "lm-eval", "--field", "score=x"]):
        code, _, err = cli("ledger", "import-verdicts", str(bad), *options, db=db)
        assert code == 2 and err.count("\n") == 1, err
    code, _, err = cli("ledger", "import-verdicts", "--from", "lm-eval", str(tmp_path), db=db)
    assert code == 2 and "is a folder" in err
    assert size(db) == before


def test_judge_table_needs_ai_verdicts(db: Path) -> None:
    with Ledger.open(db, readonly=True) as led, pytest.raises(Exception, match="no AI verdicts"):
        judge_table(Snapshot.load(led))
