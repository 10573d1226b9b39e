"""The loop's configuration: a TOML file read into frozen pydantic models, every key checked.

Unknown keys, wrong types (no coercion: `"3"` is not a number) and out-of-range values fail
before anything runs, in one line naming the file, the table and the key:
`loop.toml: [generator] max_tokens: must be from 1 to 2,048, got 100000000`. Paths in the file
are relative to the file and are held resolved (absolute), so the same file means the same
settings from any working directory.

Limits: the file is at most `MAX_CONFIG_BYTES`, nested at most `MAX_DEPTH` levels; integers fit
in 64 bits (TOML's range); numbers are finite; counts and sizes stay within the ranges their
fields declare (docs/loop.md).
"""

from __future__ import annotations

import math
import reprlib
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from keel.errors import ConfigError
from keel.judges import JudgeBackend
from keel.ledger.note import is_valid_name
from keel.loop.limits import MAX_GENERATIONS
from keel.mix import MixPolicy
from keel.models import DEFAULT_KEY_ENV, endpoint_key

GeneratorKind = Literal["ngram", "transformer", "served"]
HumanPool = Literal["accumulated", "fresh"]
Gate = Literal["corrected", "judges", "none"]
ReviewerKind = Literal["simulated", "web"]
MAX_CONFIG_BYTES = 1 << 20
"""The largest loop file read (a real one is a few hundred bytes)."""
MAX_DEPTH = 16
"""The deepest nesting of tables and arrays read (a loop file needs 3)."""
_TOO_DEEP = f"tables and arrays nest deeper than {MAX_DEPTH} levels; a loop file needs 3"
MAX_SAMPLES = 100_000
"""Texts generated per generation, and records reviewed per generation, at most."""
MAX_TOKENS = 2048
"""Tokens per generated text at most: the n-gram sampler holds samples × max_tokens ids."""
MAX_STEPS = 1_000_000
MAX_CONCURRENCY = 1024
MAX_OVERLAP = 100
"""Reviewers per record at most (as `keel review open --overlap`)."""
DEFAULT_REVIEW_URL = "http://127.0.0.1:8765/"
"""Where `keel review serve` serves the review app by default."""


class Settings(BaseModel):
    """A table of settings: frozen, unknown keys refused, values taken as written (strict: no
    string for a number, no number for a bool), numbers finite."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


M = TypeVar("M", bound=Settings)


def validated(model: type[M], data: object, source: object, context: Any = None) -> M:
    """`data` as a `model`, or a `ConfigError`: `source` (the file), the key, what it must be."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_message(model, errors[0])}{more}") from None


class HumanConfig(Settings):
    """The human corpus: `fortunes` (the registry package), a file of texts (.txt, one text a
    line; CSV, JSONL or Parquet, a "text" column) or a folder of such files
    (`keel._input.read_corpus`). A seeded shuffle splits it: `reference` texts held out for
    the watch and the simulated experts' ground truth, `initial` texts for generation 0, then
    `fresh` new texts each generation."""

    corpus: str = "fortunes"
    reference: int = Field(5000, ge=40)
    initial: int = Field(2000, ge=2)
    fresh: int = Field(0, ge=0)

    @field_validator("corpus")
    @classmethod
    def _corpus_from_folder(cls, corpus: str, info: ValidationInfo) -> str:
        return corpus if corpus == "fortunes" else str(_resolve(corpus, info))


class Endpoint(Settings):
    """A model served behind an OpenAI-compatible API (`keel.models.ServedModel`): where, which
    model, the environment variable holding its key, and how many requests at once. Its key is
    checked like `keel judge run --llm`'s (`endpoint_key`)."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = DEFAULT_KEY_ENV
    allow_insecure: bool = False
    concurrency: int = Field(16, ge=1, le=MAX_CONCURRENCY)

    def check_key(self) -> None:
        """Refuse (ValueError, for pydantic) an endpoint whose key is missing or insecure."""
        with _as_value_error():
            endpoint_key(self.base_url, self.api_key_env, allow_insecure=self.allow_insecure)


class GeneratorConfig(Endpoint):
    """The model retrained each generation: `samples` texts drawn at `temperature`, each
    continuing the first `prompt_tokens` tokens of a member of its training mix (its parent).
    `steps` is the transformer's (`keel.models.transformer.TransformerConfig`). A served model
    (`base_url`, `model`) is trained by `train_command`, which keel runs each generation (see
    `keel.loop.run`)."""

    kind: GeneratorKind = "ngram"
    order: int = Field(3, ge=1)
    samples: int = Field(3000, ge=1, le=MAX_SAMPLES)
    temperature: float = Field(1.0, gt=0)
    max_tokens: int = Field(60, ge=1, le=MAX_TOKENS)
    prompt_tokens: int = Field(2, ge=0, le=MAX_TOKENS)
    steps: int = Field(300, ge=1, le=MAX_STEPS)
    train_command: str = ""

    @model_validator(mode="after")
    def _served_needs_an_endpoint(self) -> Self:
        if self.kind == "served":
            if not (self.base_url and self.model and self.train_command):
                raise ValueError(
                    "kind = 'served' needs base_url, model and train_command (the command that "
                    "trains the served model on each mix; docs/loop.md)"
                )
            self.check_key()
        return self


class JudgeConfig(Endpoint):
    """One AI judge. likelihood: n-gram likelihood under the verified human texts of generation
    0; repetition: distinct-3 against human texts; llm: a served model with a rubric. The
    offline ones accept at conformal p ≥ alpha (`keel.judges.backends`)."""

    kind: JudgeBackend
    id: str = ""
    alpha: float = Field(0.05, gt=0, lt=1)
    order: int = Field(3, ge=1)
    rubric: str = ""

    @field_validator("rubric")
    @classmethod
    def _rubric_from_folder(cls, rubric: str, info: ValidationInfo) -> str:
        return rubric and str(_resolve(rubric, info))

    @model_validator(mode="after")
    def _llm_needs_an_endpoint(self) -> Self:
        if self.kind == "llm":
            if not (self.base_url and self.model and self.rubric):
                raise ValueError("an llm judge needs base_url, model and rubric (a rubric file)")
            self.check_key()
        return self

    @property
    def name(self) -> str:
        """The judge id in the ledger."""
        if self.id:
            return self.id
        return {
            "likelihood": f"ngram{self.order}-human",
            "repetition": "distinct3-human",
            "llm": f"llm:{self.model}",
        }[self.kind]


class ReviewConfig(Settings):
    """The review step: `budget` records a generation, `random_share` of them drawn at random
    (the unbiased anchors), the rest where judges disagree. `reviewer` says who decides:
    "simulated", a SIMULATED panel answering from the ground truth with `error_rate`; "web",
    people in the review app (`keel.experts.rounds`): the loop opens one round a generation for
    `reviewers` (none named: every enrolled reviewer), `overlap` of them per record, and waits
    for their decisions. `url` is where the app is served (for messages only). Back-pressure:
    the loop goes past a generation's review only once it holds `min_anchors` records drawn at
    random with an expert decision (docs/loop.md)."""

    reviewer: ReviewerKind = "simulated"
    budget: int = Field(0, ge=0, le=MAX_SAMPLES)
    random_share: float = Field(0.5, gt=0, le=1)
    error_rate: float = Field(0.05, ge=0, le=1)
    reviewers: tuple[str, ...] = Field((), strict=False)
    overlap: int = Field(1, ge=1, le=MAX_OVERLAP)
    url: str = DEFAULT_REVIEW_URL
    min_anchors: int = Field(0, ge=0, le=MAX_SAMPLES)

    @field_validator("reviewers")
    @classmethod
    def _plain_names(cls, reviewers: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in reviewers if not is_valid_name(name) or "/" in name]
        if bad:
            raise ValueError(
                f"{reprlib.repr(bad[0])} is not a reviewer's name (`keel review add` takes "
                "letters, digits and -_., no spaces, '+' or '/')"
            )
        if len(set(reviewers)) != len(reviewers):
            raise ValueError(f"a reviewer is named twice in {list(reviewers)}")
        return reviewers

    @field_validator("url")
    @classmethod
    def _a_web_address(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            raise ValueError(f"must be an http:// or https:// address, got {reprlib.repr(url)}")
        return url

    @model_validator(mode="after")
    def _settings_of_the_reviewer(self) -> Self:
        if self.reviewer == "simulated" and (self.reviewers or self.overlap != 1):
            raise ValueError(
                "reviewers and overlap are for people (reviewer = 'web'); the simulated "
                "panel takes budget, random_share and error_rate"
            )
        if self.reviewers and self.overlap > len(self.reviewers):
            raise ValueError(
                f"overlap = {self.overlap} needs at least {self.overlap} reviewers, got "
                f"{len(self.reviewers)}"
            )
        if self.min_anchors and not self.budget:
            raise ValueError(f"min_anchors = {self.min_anchors} needs a budget > 0")
        return self

    def random_anchors(self, samples: int) -> int:
        """The records the simulated panel draws at random from a generation of `samples`
        (`keel.experts.choose_for_review`: ceil(random_share × budget), at least 1)."""
        budget = min(self.budget, samples)
        return min(budget, max(1, math.ceil(self.random_share * budget))) if budget else 0


class MixConfig(Settings):
    """The next training set (`keel.mix.MixPolicy`, which checks the ranges; docs/mixing.md):
    `dedup` and `tails` switch MinHash near-duplicate removal and tail-preserving sampling on
    with their defaults."""

    alpha: float = 0.2
    size: int = 2000
    gate: Gate = "corrected"
    target_precision: float = 0.9
    confidence: float = 0.95
    human: HumanPool = "fresh"
    lineage: bool = True
    dedup: bool = True
    tails: bool = True

    def policy(self, generation: int, seed: int) -> MixPolicy:
        """The mix policy for the synthetic records of `generation`."""
        base = MixPolicy()
        return MixPolicy(
            alpha=self.alpha,
            size=self.size,
            target_precision=self.target_precision,
            generation=generation,
            human=self.human,
            gate=self.gate,
            confidence=self.confidence,
            lineage=self.lineage,
            dedup=base.dedup if self.dedup else None,
            tails=base.tails if self.tails else None,
            seed=seed,
        )


class LoopConfig(Settings):
    """A whole loop: its name, generations, seed, ledger and the steps' settings."""

    name: str
    generations: int = Field(10, ge=1, le=MAX_GENERATIONS)
    seed: int = 0
    ledger: Path = Field(Path("keel.db"), strict=False, validate_default=True)
    origin: str = ""
    human: HumanConfig = Field(default_factory=HumanConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    judges: tuple[JudgeConfig, ...] = Field((), strict=False)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    mix: MixConfig = Field(default_factory=MixConfig)

    @field_validator("name")
    @classmethod
    def _a_plain_name(cls, name: str) -> str:
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise ValueError(
                f"must be non-empty letters, digits, '-', '_' or '.', got {reprlib.repr(name)}"
            )
        return name

    @field_validator("ledger")
    @classmethod
    def _ledger_from_folder(cls, ledger: Path, info: ValidationInfo) -> Path:
        return _resolve(str(ledger), info)

    @model_validator(mode="after")
    def _steps_fit_together(self) -> Self:
        names = [j.name for j in self.judges]
        if len(set(names)) != len(names):
            raise ValueError(f"two judges share an id ({', '.join(names)}): set `id` on one")
        if self.mix.gate != "none" and not self.judges:
            raise ValueError(f"[mix] gate = {self.mix.gate!r} needs at least one [[judges]]")
        if self.mix.gate == "corrected" and self.review.budget == 0:
            raise ValueError(
                "[mix] gate = 'corrected' chooses its rule on expert anchors: give "
                "[review] budget > 0, or use gate = 'judges'"
            )
        review = self.review
        drawn = review.random_anchors(self.generator.samples)
        if review.reviewer == "simulated" and drawn < review.min_anchors:
            raise ValueError(
                f"[review] min_anchors = {review.min_anchors} cannot be met: the simulated panel "
                f"draws {drawn} records at random a generation (random_share "
                f"{review.random_share:g} of budget {review.budget}, at most [generator] "
                "samples): raise budget or random_share, or lower min_anchors"
            )
        if self.mix.human == "fresh" and self.mix.alpha > 0 and self.human.fresh == 0:
            raise ValueError(
                f"[mix] alpha = {self.mix.alpha} with human = 'fresh' needs fresh human texts "
                "each generation: set [human] fresh, or human = 'accumulated'"
            )
        with _as_value_error():
            self.mix.policy(0, self.seed)  # MixPolicy checks its ranges and the seed's
        return self

    @property
    def model_name(self) -> str:
        """The producer name of the loop's synthetic records."""
        return f"{self.name}-{self.generator.kind}"

    @property
    def checkpoint_origin(self) -> str:
        return self.origin or f"keel.local/loop/{self.name}"


def load_config(path: Path) -> LoopConfig:
    """Read and check a loop file; relative paths in it are taken from its folder."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; a loop file is a short TOML file "
            "(docs/loop.md): is this the right file?"
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except ValueError as exc:  # Python's limit on the digits of an integer
        raise ConfigError(f"{path}: an integer beyond 64 bits (TOML's limit)") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: {_TOO_DEEP}") from exc
    return config_from(data, path)


def config_from(data: Mapping[str, Any], path: Path) -> LoopConfig:
    """A `LoopConfig` from parsed TOML; `path` names the file in errors and anchors paths,
    which are resolved: absolute, without `..` or symbolic links."""
    try:
        _check_tree(data, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return validated(LoopConfig, data, path, context=path.resolve().parent)


def _resolve(value: str, info: ValidationInfo) -> Path:
    """`value` as an absolute path, from the config file's folder (the validation context) or,
    for a config built in Python, from the working directory."""
    folder = info.context if isinstance(info.context, Path) else Path()
    try:
        return (folder / value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a NUL byte, a symbolic link loop
        raise ValueError(f"{reprlib.repr(value)} is not a usable path ({exc})") from exc


@contextmanager
def _as_value_error() -> Iterator[None]:
    """A `ConfigError` of a check keel shares with its other commands, raised as the
    `ValueError` pydantic reports at the table being validated."""
    try:
        yield
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc


def _check_tree(value: object, key: str, depth: int = 0) -> None:
    """Refuse nesting deeper than `MAX_DEPTH` and integers beyond TOML's 64 bits."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{reprlib.repr(key)}: {_TOO_DEEP}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_tree(v, f"{key}.{k}" if key else k, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_tree(v, key, depth + 1)
    elif isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ConfigError(f"{reprlib.repr(key)} holds an integer beyond 64 bits (TOML's limit)")


_MUST_BE = {
    "int_type": "an integer",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "string_type": "a string",
    "path_type": "a string",
    "model_type": "a table",
}
_SIGNS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _message(model: type[Settings], error: ErrorDetails) -> str:
    """One pydantic error as the file's author reads it: the key, what it must be, what it is."""
    loc, kind = error["loc"], error["type"]
    if kind == "extra_forbidden":
        parent = _walk(model, loc[:-1])[0]
        known = ", ".join(sorted(parent.model_fields if parent is not None else ()))
        return f"unknown key {reprlib.repr(loc[-1])} in {_table(loc[:-1])}; known keys: {known}"
    if kind == "missing":
        return f"missing key {loc[-1]!r} in {_table(loc[:-1])}"
    table, field = _walk(model, loc)
    at_table = bool(loc) and (
        isinstance(loc[-1], int) or (table is not None and kind != "model_type")
    )
    where = f"{_table(loc) if at_table else _key(loc)}: " if loc else ""
    if loc and isinstance(loc[-1], int) and not _holds_tables(model, loc[:-1]):
        where = f"{_key(loc[:-1])} #{loc[-1] + 1}: "  # an entry of an array of values
    got = f", got {reprlib.repr(error['input'])}"
    ctx = error.get("ctx", {})
    if kind in ("value_error", "assertion_error"):
        return f"{where}{ctx.get('error', error['msg'])}"
    if kind == "tuple_type" and _holds_tables(model, loc):
        return f"{where}must be an array of tables ([[{loc[-1]}]]){got}"
    if kind == "tuple_type":
        return f"{where}must be an array{got}"
    if kind == "literal_error":
        return f"{where}must be one of {ctx['expected']}{got}"
    if kind in _RANGE_ERRORS and field is not None:
        return f"{where}must be {_range(field)}{got}"
    if kind in _MUST_BE:
        return f"{where}must be {_MUST_BE[kind]}{got}"
    return f"{where}{error['msg']}{got}"


def _walk(
    model: type[Settings], loc: tuple[int | str, ...]
) -> tuple[type[Settings] | None, FieldInfo | None]:
    """The table `loc` names (None for a key that holds no table) and the last key's field."""
    table: type[Settings] | None = model
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):  # an entry of an array of tables: tuple[Table, ...]
            table = _as_table(get_args(field.annotation)[0]) if field is not None else None
        else:
            field = table.model_fields.get(part) if table is not None else None
            table = _as_table(field.annotation) if field is not None else None
    return table, field


def _holds_tables(model: type[Settings], loc: tuple[int | str, ...]) -> bool:
    """Whether the key at `loc` is an array of tables (`[[judges]]`), not of values."""
    field = _walk(model, loc)[1]
    args = get_args(field.annotation) if field is not None else ()
    return bool(args) and _as_table(args[0]) is not None


def _as_table(kind: object) -> type[Settings] | None:
    return kind if isinstance(kind, type) and issubclass(kind, Settings) else None


def _table(loc: tuple[int | str, ...]) -> str:
    """The TOML header of the table at `loc`: `[generator]`, `[[judges]] #2` (the second)."""
    if not loc:
        return "the top level"
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] = f"[[{parts[-1]}]] #{part + 1}"
        elif i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(str(part))
        else:
            parts.append(f"[{part}]")
    return " ".join(parts)


def _key(loc: tuple[int | str, ...]) -> str:
    """A key as the file writes it: `generations`, `[generator] max_tokens`."""
    return f"{_table(loc[:-1])} {loc[-1]}" if len(loc) > 1 else str(loc[0])


def _range(field: FieldInfo) -> str:
    """A field's declared range: `from 1 to 2,048` (integers), `in (0, 1]`, `≥ 1`, `> 0`."""
    bound = {
        k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)
    }
    low, high = bound.get("ge", bound.get("gt")), bound.get("le", bound.get("lt"))
    if low is not None and high is not None:
        if field.annotation is int:
            return f"from {low:,} to {high:,}"
        opening, closing = "(" if "gt" in bound else "[", ")" if "lt" in bound else "]"
        return f"in {opening}{low}, {high}{closing}"
    sign, value = next((s, bound[k]) for k, s in _SIGNS if k in bound)
    return f"{sign} {value:,}"
