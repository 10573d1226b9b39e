"""The loop's configuration: a TOML file read into frozen dataclasses, every key checked.

Unknown keys, wrong types and out-of-range values fail before anything runs, with the file,
the table and the key in the message. Paths in the file are relative to the file and are held
resolved (absolute), so the same file means the same settings from any working directory.

Limits: the file is at most `MAX_CONFIG_BYTES`, nested at most `MAX_DEPTH` levels; numbers are
finite; counts and sizes stay within the ranges their fields' checks name (docs/loop.md).
"""

from __future__ import annotations

import math
import reprlib
import tomllib
import types
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from keel.errors import ConfigError
from keel.mix import MixPolicy
from keel.models import DEFAULT_KEY_ENV, endpoint_key

GeneratorKind = Literal["ngram", "transformer", "served"]
JudgeKind = Literal["likelihood", "repetition", "llm"]
HumanPool = Literal["accumulated", "fresh"]
Gate = Literal["corrected", "judges", "none"]
MAX_CONFIG_BYTES = 1 << 20
"""The largest loop file read (a real one is a few hundred bytes)."""
MAX_DEPTH = 16
"""The deepest nesting of tables and arrays read (a loop file needs 3)."""
_TOO_DEEP = f"tables and arrays nest deeper than {MAX_DEPTH} levels; a loop file needs 3"
MAX_GENERATIONS = 1000
MAX_SAMPLES = 100_000
"""Texts generated per generation, and records reviewed per generation, at most."""
MAX_TOKENS = 2048
"""Tokens per generated text at most: the n-gram sampler holds samples × max_tokens ids."""
MAX_STEPS = 1_000_000
MAX_CONCURRENCY = 1024


@dataclass(frozen=True, slots=True)
class HumanConfig:
    """The human corpus: `fortunes` (the registry package) or a file of texts (.txt, one text a
    line; .jsonl, a "text" field). A seeded shuffle splits it: `reference` texts held out for
    the watch and the simulated experts' ground truth, `initial` texts for generation 0, then
    `fresh` new texts each generation."""

    corpus: str = "fortunes"
    reference: int = 5000
    initial: int = 2000
    fresh: int = 0

    def __post_init__(self) -> None:
        _within("human", "reference", self.reference, 40)
        _within("human", "initial", self.initial, 2)
        _within("human", "fresh", self.fresh, 0)


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """The model retrained each generation: `samples` texts drawn at `temperature`, each
    continuing the first `prompt_tokens` tokens of a member of its training mix (its parent).
    `steps` is the transformer's (`keel.models.transformer.TransformerConfig`). A served model
    (`base_url`, `model`) is trained by `train_command`, which keel runs each generation (see
    `keel.loop.run`); its key is checked like `keel judge run --llm`'s (`endpoint_key`)."""

    kind: GeneratorKind = "ngram"
    order: int = 3
    samples: int = 3000
    temperature: float = 1.0
    max_tokens: int = 60
    prompt_tokens: int = 2
    steps: int = 300
    base_url: str = ""
    model: str = ""
    api_key_env: str = DEFAULT_KEY_ENV
    allow_insecure: bool = False
    concurrency: int = 16
    train_command: str = ""

    def __post_init__(self) -> None:
        _within("generator", "order", self.order, 1)
        _within("generator", "samples", self.samples, 1, MAX_SAMPLES)
        _within("generator", "max_tokens", self.max_tokens, 1, MAX_TOKENS)
        _within("generator", "prompt_tokens", self.prompt_tokens, 0, MAX_TOKENS)
        _within("generator", "steps", self.steps, 1, MAX_STEPS)
        _within("generator", "concurrency", self.concurrency, 1, MAX_CONCURRENCY)
        if not self.temperature > 0:
            raise ConfigError(f"[generator] temperature must be > 0, got {self.temperature}")
        if self.kind == "served" and not (self.base_url and self.model and self.train_command):
            raise ConfigError(
                "[generator] kind = 'served' needs base_url, model and train_command (the "
                "command that trains the served model on each mix; docs/loop.md)"
            )
        if self.kind == "served":
            _check_endpoint("generator", self.base_url, self.api_key_env, self.allow_insecure)


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """One AI judge. likelihood: n-gram likelihood under the verified human texts of generation
    0; repetition: distinct-3 against human texts; llm: a served model with a rubric. The
    offline ones accept at conformal p ≥ alpha (`keel.judges.run`)."""

    kind: JudgeKind
    id: str = ""
    alpha: float = 0.05
    order: int = 3
    base_url: str = ""
    model: str = ""
    rubric: str = ""
    api_key_env: str = DEFAULT_KEY_ENV
    allow_insecure: bool = False
    concurrency: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ConfigError(f"[[judges]] alpha must be in (0, 1), got {self.alpha}")
        _within("[judges]", "order", self.order, 1)
        _within("[judges]", "concurrency", self.concurrency, 1, MAX_CONCURRENCY)
        if self.kind == "llm" and not (self.base_url and self.model and self.rubric):
            raise ConfigError("an llm judge needs base_url, model and rubric (a rubric file)")
        if self.kind == "llm":
            _check_endpoint("[judges]", self.base_url, self.api_key_env, self.allow_insecure)

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


@dataclass(frozen=True, slots=True)
class ExpertConfig:
    """The expert step: `budget` records a generation, `random_share` of them drawn at random
    (unbiased anchors), the rest where judges disagree; a SIMULATED panel answering from the
    ground truth with `error_rate`."""

    budget: int = 0
    random_share: float = 0.5
    error_rate: float = 0.05
    panel: Literal["simulated"] = "simulated"

    def __post_init__(self) -> None:
        _within("experts", "budget", self.budget, 0, MAX_SAMPLES)
        if not 0 < self.random_share <= 1:
            raise ConfigError(f"[experts] random_share must be in (0, 1], got {self.random_share}")
        if not 0 <= self.error_rate <= 1:
            raise ConfigError(f"[experts] error_rate must be in [0, 1], got {self.error_rate}")


@dataclass(frozen=True, slots=True)
class MixConfig:
    """The next training set (`keel.mix.MixPolicy`; docs/mixing.md): `dedup` and `tails` switch
    MinHash near-duplicate removal and tail-preserving sampling on with their defaults."""

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


@dataclass(frozen=True, slots=True)
class LoopConfig:
    """A whole loop: its name, generations, seed, ledger and the steps' settings."""

    name: str
    generations: int = 10
    seed: int = 0
    ledger: Path = Path("keel.db")
    origin: str = ""
    human: HumanConfig = field(default_factory=HumanConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    judges: tuple[JudgeConfig, ...] = ()
    experts: ExpertConfig = field(default_factory=ExpertConfig)
    mix: MixConfig = field(default_factory=MixConfig)

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(
                f"the loop name {reprlib.repr(self.name)} must be non-empty letters, digits, "
                "'-', '_' or '.'"
            )
        _within("loop", "generations", self.generations, 1, MAX_GENERATIONS)
        names = [j.name for j in self.judges]
        if len(set(names)) != len(names):
            raise ConfigError(f"two judges share an id ({', '.join(names)}): set `id` on one")
        if self.mix.gate != "none" and not self.judges:
            raise ConfigError(f"[mix] gate = {self.mix.gate!r} needs at least one [[judges]]")
        if self.mix.gate == "corrected" and self.experts.budget == 0:
            raise ConfigError(
                "[mix] gate = 'corrected' chooses its rule on expert anchors: give "
                "[experts] budget > 0, or use gate = 'judges'"
            )
        if self.mix.human == "fresh" and self.mix.alpha > 0 and self.human.fresh == 0:
            raise ConfigError(
                f"[mix] alpha = {self.mix.alpha} with human = 'fresh' needs fresh human texts "
                "each generation: set [human] fresh, or human = 'accumulated'"
            )
        self.mix.policy(0, self.seed)  # MixPolicy checks its ranges

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


def config_from(data: dict[str, Any], path: Path) -> LoopConfig:
    """A `LoopConfig` from parsed TOML; `path` names the file in errors and anchors paths,
    which are resolved: absolute, without `..` or symbolic links."""
    try:
        _check_tree(data, "")
        cfg = _build(LoopConfig, data, "")
        base = path.resolve().parent
        human = cfg.human
        if human.corpus != "fortunes":
            human = replace(human, corpus=str(_resolve(base, human.corpus, "human.corpus")))
        judges = tuple(
            replace(j, rubric=str(_resolve(base, j.rubric, "judges.rubric"))) if j.rubric else j
            for j in cfg.judges
        )
        ledger = _resolve(base, str(cfg.ledger), "ledger")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return replace(cfg, ledger=ledger, human=human, judges=judges)


def _resolve(base: Path, value: str, key: str) -> Path:
    try:
        return (base / value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a NUL byte, a symbolic link loop
        raise ConfigError(f"{key} = {reprlib.repr(value)}: not a usable path ({exc})") from exc


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


T = TypeVar("T")


def _build(cls: type[T], table: object, where: str) -> T:
    """An instance of the dataclass `cls` from a TOML table, each value checked against the
    field's type (nested dataclasses, tuples of them, Literal, int, float, bool, str, Path)."""
    label = f"[{where}]" if where else "the top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table, got {type(table).__name__}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key {reprlib.repr(unknown[0])} in {label}; known keys: "
            f"{', '.join(sorted(known))}"
        )
    values: dict[str, object] = {}
    for name, f in known.items():
        if name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{label} needs the key {name!r}")
            continue
        key = f"{where}.{name}" if where else name
        values[name] = _value(hints[name], table[name], key)
    return cls(**values)


def _value(hint: Any, value: object, key: str) -> object:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"{key} must be one of {', '.join(map(repr, allowed))}, got {reprlib.repr(value)}"
            )
        return value
    if origin is tuple:
        (item,) = {a for a in get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be an array of tables ([[{key}]])")
        return tuple(_build(item, v, f"{key}") for v in value)
    if origin in (Union, types.UnionType):
        raise ConfigError(f"{key}: optional values are not supported")
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        return _build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {reprlib.repr(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {reprlib.repr(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {reprlib.repr(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}")
        return float(value)
    if hint is str or hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {reprlib.repr(value)}")
        return hint(value)
    raise ConfigError(f"{key}: unsupported setting type {hint}")  # a bug in this module


def _check_endpoint(table: str, base_url: str, key_env: str, allow_insecure: bool) -> None:
    """A served model's URL and key, checked before anything runs (`keel.models.endpoint_key`)."""
    try:
        endpoint_key(base_url, key_env, allow_insecure=allow_insecure)
    except ConfigError as exc:
        raise ConfigError(f"[{table}] {exc}") from exc


def _within(table: str, key: str, value: int, low: int, high: int | None = None) -> None:
    if high is None and value < low:
        raise ConfigError(f"[{table}] {key} must be ≥ {low}, got {value}")
    if high is not None and not low <= value <= high:
        raise ConfigError(f"[{table}] {key} must be from {low:,} to {high:,}, got {value}")
