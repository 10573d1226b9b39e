"""Verdicts from eval tools' logs, and the ledger's AI verdicts as a table to audit.

`eval_verdicts` reads Inspect AI eval logs (`inspect`) or lm-evaluation-harness sample logs
(`lm-eval`) as `keel.ledger.verdicts.VerdictRow`s, for `import_verdicts` to log as AI-judge
verdicts in one transaction (`keel ledger import-verdicts --from inspect|lm-eval`).
`judge_table` turns a ledger's AI verdicts and its expert decisions into the `JudgeTable` that
`keel.judges.audit.audit` reads, so imported verdicts can be audited like any judge's.

**Inspect AI** (``.eval`` or ``.json`` logs, read by `inspect_ai.log`, the ``[evals]`` extra).
Each score of each sample is a verdict:

- judge ``<scorer>:<model>`` (``match:openai/gpt-4o``); a score whose value is a dict gives one
  verdict per key, judge ``<scorer>/<key>:<model>``;
- rubric ``inspect:<task>``, with ``#epoch<n>`` appended when the eval ran several epochs (so
  each epoch's verdict is its own entry); the rationale is the score's explanation;
- value: ``C`` → label accept, score 1; ``I`` → reject, 0; ``P`` → partial, 0.5; ``N`` →
  noanswer, 0 (Inspect's own `value_to_float` numbers); true/false, yes/no (any case) → accept
  1 / reject 0; a number (or a numeric string) → that score, no label; any other string → that
  label, no score. A list, a null or a non-finite number is skipped and counted.

The sample's record: its metadata ``keel_id`` (an id, external id or payload digest), and then
only that; else its id, when a string, as an id or external id, then the SHA-256 of its input
text (the input string, or the text of its last user message). A sample without scores (it
errored) is skipped and counted.

**lm-evaluation-harness** (``samples_<task>_<date>.jsonl``, written by ``--log_samples``; the
layout is that of lm-eval's `EvaluationTracker.save_results_samples`). Each metric of each line
is a verdict: judge ``<task>/<metric>[/<filter>]:<model>`` (the filter when it is not
``none``), rubric ``lm-eval:<task>``, the metric's value as the score (a boolean as 1/0), no
label. The metrics are the line's ``metrics`` list, or, in older logs, its fields other than
lm-eval's bookkeeping (``doc_id``, ``doc``, ``target``, ``arguments``, ``resps``,
``filtered_resps``, ``filter``, the hashes); a value that is not a number (a corpus metric's
per-sample pair, e.g. bleu) is skipped and counted. The model is ``model_name`` from
``results_<date>.json`` beside the file (else its ``config.model_args`` ``pretrained=``, else
``config.model``); without that file the judge has no ``:<model>``. The line's record: its doc's
``keel_id``, and then only that; else the SHA-256 of the prompt (``arguments.gen_args_0.arg_0``)
then of the doc's ``text`` field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np

from keel._input import read_rows
from keel.errors import InputError, require
from keel.judges.table import JudgeTable
from keel.ledger import ACCEPT, DEGENERATE, REJECT, Snapshot
from keel.ledger.verdicts import RecordRef, VerdictRow
from keel.records import Verdict

EvalSource = Literal["inspect", "lm-eval"]
EVAL_SOURCES: tuple[EvalSource, ...] = get_args(EvalSource)
KEEL_ID = "keel_id"
"""The metadata (Inspect) or doc (lm-eval) field that names a sample's keel record."""
INSPECT_VALUES: Mapping[str, tuple[str, float]] = {
    "C": ("accept", 1.0),
    "I": ("reject", 0.0),
    "P": ("partial", 0.5),
    "N": ("noanswer", 0.0),
}
"""Inspect's CORRECT, INCORRECT, PARTIAL and NOANSWER values as (label, score)."""
_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SAMPLES_FILE = re.compile(r"samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[0-9.\-]+)")
_LM_EVAL_BOOKKEEPING = frozenset({
    "doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
    "doc_hash", "prompt_hash", "target_hash",
})  # fmt: skip
_UNSCORED = "samples without a score (errored or not scored)"
_UNREADABLE = "score values that are not a label or a number"


def eval_verdicts(paths: Sequence[Path], source: str, *, kind: str = "ai") -> Iterator[VerdictRow]:
    """The verdicts of eval logs of `source` (``inspect`` or ``lm-eval``), file after file; the
    judge kind is `kind` (``ai``; ``expert`` for scores people gave)."""
    if source not in EVAL_SOURCES:
        raise InputError(f"--from must be one of {', '.join(EVAL_SOURCES)}, got {source!r}")
    if not paths:
        raise InputError(f"no file given: name one or more {source} logs")
    for path in paths:
        if path.is_dir():
            raise InputError(f"{path} is a folder: give the log files in it")
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    if source == "inspect":
        _inspect_log()  # the extra is missing: say so before anything is read
        return (row for path in paths for row in inspect_verdicts(path, kind=kind))
    return (row for path in paths for row in lm_eval_verdicts(path, kind=kind))


# -- Inspect AI ------------------------------------------------------------------------------
def _inspect_log() -> ModuleType:
    """`inspect_ai.log`, or an InputError saying how to install it."""
    return require(
        "inspect_ai.log",
        "reading Inspect AI logs needs inspect_ai: pip install 'keel[evals]' "
        "(or pip install inspect-ai)",
        InputError,
    )


def inspect_verdicts(path: Path, *, kind: str = "ai") -> Iterator[VerdictRow]:
    """The verdicts of an Inspect AI eval log, sample by sample (module docstring)."""
    log = _inspect_log()
    try:
        spec = log.read_eval_log(str(path), header_only=True).eval
        task, model = str(spec.task), str(spec.model)
        epochs = int(spec.config.epochs or 1)
        samples = iter(
            log.read_eval_log_samples(
                str(path), all_samples_required=False, resolve_attachments=True
            )
        )
    except Exception as exc:  # inspect_ai's reader raises many kinds on a file it cannot read
        raise _unreadable(path, exc) from exc
    while True:
        try:
            sample = next(samples)
        except StopIteration:
            return
        except Exception as exc:
            raise _unreadable(path, exc) from exc
        yield from _inspect_rows(path, sample, task, model, epochs, kind)


def _unreadable(path: Path, exc: Exception) -> InputError:
    detail = str(exc).strip().splitlines()
    return InputError(
        f"{path}: inspect_ai cannot read it as an eval log ({type(exc).__name__}: "
        f"{detail[0][:200] if detail else 'no detail'}); give a .eval or .json log that "
        "`inspect view` opens"
    )


def _inspect_rows(
    path: Path, sample: Any, task: str, model: str, epochs: int, kind: str
) -> Iterator[VerdictRow]:
    place = f"{path}:sample {sample.id}" + (f" epoch {sample.epoch}" if epochs > 1 else "")
    refs = _inspect_refs(sample)
    if isinstance(refs, str):
        yield VerdictRow(place, problem=refs)
        return
    if not sample.scores:
        yield VerdictRow(place, skipped=_UNSCORED)
        return
    rubric = f"inspect:{task}" + (f"#epoch{sample.epoch}" if epochs > 1 else "")
    for scorer, score in sample.scores.items():
        value = score.value
        named = (
            [(f"{scorer}/{k}", v) for k, v in value.items()]
            if isinstance(value, dict)
            else [(str(scorer), value)]
        )
        explanation = score.explanation if isinstance(score.explanation, str) else None
        for name, one in named:
            read = inspect_value(one)
            if read is None:
                yield VerdictRow(f"{place} ({name})", skipped=_UNREADABLE)
                continue
            label, number = read
            yield VerdictRow(
                place, refs, f"{name}:{model}", kind, label, number, rubric, explanation or None
            )


def inspect_value(value: object) -> tuple[str | None, float | None] | None:
    """(label, score) of an Inspect score value (module docstring); None if unreadable."""
    if isinstance(value, bool):
        return (ACCEPT, 1.0) if value else (REJECT, 0.0)
    if isinstance(value, int | float):
        number = float(value)
        return (None, number) if math.isfinite(number) else None
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip()
    if word in INSPECT_VALUES:
        return INSPECT_VALUES[word]
    if word.lower() in _YES:
        return ACCEPT, 1.0
    if word.lower() in _NO:
        return REJECT, 0.0
    if _NUMBER.fullmatch(word) and math.isfinite(float(word)):
        return None, float(word)
    return value, None


def _inspect_refs(sample: Any) -> tuple[RecordRef, ...] | str:
    """How a sample names its record (module docstring), or why it names none."""
    metadata = sample.metadata if isinstance(sample.metadata, dict) else {}
    named = metadata.get(KEEL_ID)
    if named is not None:
        if isinstance(named, str | int) and not isinstance(named, bool) and str(named).strip():
            return (RecordRef(str(named).strip(), what="metadata keel_id"),)
        return f"metadata {KEEL_ID} {named!r} is not a keel id, external id or payload digest"
    refs = []
    if isinstance(sample.id, str) and sample.id.strip():
        refs.append(RecordRef(sample.id.strip(), what="sample id"))
    text = _input_text(sample.input)
    if text is not None:
        refs.append(_digest_ref(text, "the sample's input text"))
    return tuple(refs) or (
        f"the sample names no record: give it metadata {KEEL_ID} (a keel id or external id) "
        "or a text input"
    )


def _input_text(value: object) -> str | None:
    """A sample's input as text: the string, or the text of its last user message."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for message in reversed(value):
            if getattr(message, "role", None) == "user":
                text = getattr(message, "text", None)
                return text if isinstance(text, str) else None
    return None


# -- lm-evaluation-harness -------------------------------------------------------------------
def lm_eval_verdicts(path: Path, *, kind: str = "ai") -> Iterator[VerdictRow]:
    """The verdicts of an lm-evaluation-harness ``samples_<task>_<date>.jsonl`` file, line by
    line (module docstring)."""
    match = _SAMPLES_FILE.fullmatch(path.name.removesuffix(".jsonl"))
    task = match["task"] if match else path.stem.removeprefix("samples_")
    model = _lm_eval_model(path.with_name(f"results_{match['date']}.json")) if match else None
    for lineno, _, row in read_rows(path, "jsonl"):
        yield from _lm_eval_rows(f"{path}:{lineno}", row, task, model, kind)


def _lm_eval_model(results: Path) -> str | None:
    """The model named by an lm-eval results file, or None when there is no such file."""
    if not results.is_file():
        return None
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{results}: not a readable lm-eval results file ({exc}); move it away to import "
            "without the model's name"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{results}: expected lm-eval's results object")
    name = data.get("model_name")
    if isinstance(name, str) and name:
        return name
    config = data.get("config")
    if not isinstance(config, dict):
        return None
    args = config.get("model_args")
    if isinstance(args, str):
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() in ("pretrained", "model") and value.strip():
                return value.strip()
    model = config.get("model")
    return model if isinstance(model, str) and model else None


def _lm_eval_rows(
    place: str, row: dict[str, object], task: str, model: str | None, kind: str
) -> Iterator[VerdictRow]:
    doc_id = row.get("doc_id")
    if doc_id is not None:
        place = f"{place} (doc {doc_id})"
    refs = _lm_eval_refs(row)
    if isinstance(refs, str):
        yield VerdictRow(place, problem=refs)
        return
    listed = row.get("metrics")
    if isinstance(listed, list) and all(isinstance(m, str) for m in listed):
        metrics = [str(m) for m in listed]
    else:
        metrics = [k for k in row if k not in _LM_EVAL_BOOKKEEPING]
    selected = row.get("filter")
    suffix = f"/{selected}" if isinstance(selected, str) and selected != "none" else ""
    for metric in metrics:
        value = row.get(metric)
        number = float(value) if isinstance(value, int | float) else None
        if number is None or not math.isfinite(number):
            yield VerdictRow(f"{place} ({metric})", skipped=_UNREADABLE)
            continue
        judge = f"{task}/{metric}{suffix}" + (f":{model}" if model else "")
        yield VerdictRow(place, refs, judge, kind, None, number, f"lm-eval:{task}")


def _lm_eval_refs(row: Mapping[str, object]) -> tuple[RecordRef, ...] | str:
    """How a sample line names its record (module docstring), or why it names none."""
    doc = row.get("doc")
    doc = doc if isinstance(doc, dict) else {}
    named = doc.get(KEEL_ID)
    if named is not None:
        if isinstance(named, str | int) and not isinstance(named, bool) and str(named).strip():
            return (RecordRef(str(named).strip(), what="doc keel_id"),)
        return f"doc {KEEL_ID} {named!r} is not a keel id, external id or payload digest"
    refs = []
    prompt = _prompt(row.get("arguments"))
    if prompt is not None:
        refs.append(_digest_ref(prompt, "the prompt text"))
    text = doc.get("text")
    if isinstance(text, str):
        refs.append(_digest_ref(text, "the doc's text"))
    return tuple(refs) or (
        f"the sample names no record: give its doc a {KEEL_ID} (a keel id or external id) "
        "or log the prompt (--log_samples writes it under arguments)"
    )


def _prompt(arguments: object) -> str | None:
    """The first request's context: ``arguments.gen_args_0.arg_0`` as lm-eval writes it (or
    ``arguments[0][0]``, as older versions did)."""
    first: object = None
    if isinstance(arguments, dict):
        request = arguments.get("gen_args_0")
        first = request.get("arg_0") if isinstance(request, dict) else None
    elif isinstance(arguments, list) and arguments and isinstance(arguments[0], list):
        first = arguments[0][0] if arguments[0] else None
    return first if isinstance(first, str) else None


def _digest_ref(text: str, what: str) -> RecordRef:
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return RecordRef(hashlib.sha256(data).hexdigest(), "digest", what)


# -- auditing what the ledger holds ----------------------------------------------------------
def judge_table(
    snapshot: Snapshot,
    judges: Iterable[str] = (),
    *,
    threshold: float = 0.5,
    source: str = "the ledger",
) -> JudgeTable:
    """The AI verdicts of a ledger against its expert decisions, for `audit`.

    One item per record with an AI verdict by one of `judges` (default: every AI judge), one
    run. The human label is the record's standing expert decision (`Judged.adopted`; NaN when
    not reviewed); a judge's verdict is its latest on the record: 1 for the label accept, 0 for
    reject or degenerate, else its score ≥ `threshold` (Inspect's partial: 0.5 accepts at the
    default), else missing. Scores are kept for the calibration figures."""
    wanted = set(judges)
    items: list[str] = []
    humans: list[float] = []
    latest: list[dict[str, Verdict]] = []
    for judged in snapshot.records:
        mine = {v.judge: v for v in judged.ai if not wanted or v.judge in wanted}
        if mine:
            items.append(judged.id)
            humans.append(math.nan if judged.adopted is None else float(judged.adopted))
            latest.append(mine)
    if not items:
        which = f"by {', '.join(sorted(wanted))}" if wanted else "at all"
        raise InputError(f"{source} holds no AI verdicts {which}: import or run a judge first")
    names = tuple(sorted(wanted or {n for m in latest for n in m}))
    column = {n: k for k, n in enumerate(names)}
    verdicts = np.full((len(names), len(items), 1), math.nan)
    scores = np.full_like(verdicts, math.nan)
    for i, mine in enumerate(latest):
        for name, v in mine.items():
            verdicts[column[name], i, 0] = _accepts(v, threshold)
            if v.score is not None:
                scores[column[name], i, 0] = v.score
    return JudgeTable(
        source=source,
        items=tuple(items),
        judges=names,
        human=np.array(humans),
        verdicts=verdicts,
        scores=None if np.isnan(scores).all() else scores,
        missing=np.isnan(verdicts).sum(axis=(1, 2)).astype(np.int64),
    )


def _accepts(v: Verdict, threshold: float) -> float:
    label = (v.label or "").strip().lower()
    if label == ACCEPT:
        return 1.0
    if label in (REJECT, DEGENERATE):
        return 0.0
    if v.score is not None:
        return float(v.score >= threshold)
    return math.nan


__all__ = [
    "EVAL_SOURCES",
    "INSPECT_VALUES",
    "KEEL_ID",
    "EvalSource",
    "eval_verdicts",
    "inspect_value",
    "inspect_verdicts",
    "judge_table",
    "lm_eval_verdicts",
]
