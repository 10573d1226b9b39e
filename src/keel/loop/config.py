"""The loop's configuration: a TOML file read into frozen dataclasses, every key checked.

Unknown keys, wrong types and out-of-range values fail before anything runs, with the file,
the table and the key in the message. Paths in the file are relative to the file.
"""

from __future__ import annotations

import math
import tomllib
import types
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from keel.errors import ConfigError
from keel.mix import MixPolicy
from keel.models import DEFAULT_KEY_ENV

GeneratorKind = Literal["ngram", "transformer", "served"]
JudgeKind = Literal["likelihood", "repetition", "llm"]
HumanPool = Literal["accumulated", "fresh"]
Gate = Literal["corrected", "judges", "none"]


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
        _at_least("human", "reference", self.reference, 40)
        _at_least("human", "initial", self.initial, 2)
        _at_least("human", "fresh", self.fresh, 0)


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """The model retrained each generation: `samples` texts drawn at `temperature`, each
    continuing the first `prompt_tokens` tokens of a member of its training mix (its parent).
    `steps` is the transformer's (`keel.models.transformer.TransformerConfig`). A served model
    (`base_url`, `model`) is trained by `train_command`, which keel runs each generation (see
    `keel.loop.run`)."""

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
    concurrency: int = 16
    train_command: str = ""

    def __post_init__(self) -> None:
        _at_least("generator", "order", self.order, 1)
        _at_least("generator", "samples", self.samples, 1)
        _at_least("generator", "max_tokens", self.max_tokens, 1)
        _at_least("generator", "prompt_tokens", self.prompt_tokens, 0)
        _at_least("generator", "steps", self.steps, 1)
        if not self.temperature > 0:
            raise ConfigError(f"[generator] temperature must be > 0, got {self.temperature}")
        if self.kind == "served" and not (self.base_url and self.model and self.train_command):
            raise ConfigError(
                "[generator] kind = 'served' needs base_url, model and train_command (the "
                "command that trains the served model on each mix; docs/loop.md)"
            )


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
    concurrency: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ConfigError(f"[[judges]] alpha must be in (0, 1), got {self.alpha}")
        if self.kind == "llm" and not (self.base_url and self.model and self.rubric):
            raise ConfigError("an llm judge needs base_url, model and rubric (a rubric file)")

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
        _at_least("experts", "budget", self.budget, 0)
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
                f"the loop name {self.name!r} must be non-empty letters, digits, '-', '_' or '.'"
            )
        _at_least("loop", "generations", self.generations, 1)
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
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from(data, path)


def config_from(data: dict[str, Any], path: Path) -> LoopConfig:
    """A `LoopConfig` from parsed TOML; `path` names the file in errors and anchors paths."""
    try:
        cfg = _build(LoopConfig, data, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    base = path.parent
    human = cfg.human
    if human.corpus != "fortunes":
        human = replace(human, corpus=str(base / human.corpus))
    judges = tuple(replace(j, rubric=str(base / j.rubric)) if j.rubric else j for j in cfg.judges)
    return replace(cfg, ledger=base / cfg.ledger, human=human, judges=judges)


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
            f"unknown key {unknown[0]!r} in {label}; known keys: {', '.join(sorted(known))}"
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
                f"{key} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
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
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is str or hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return hint(value)
    raise ConfigError(f"{key}: unsupported setting type {hint}")  # a bug in this module


def _at_least(table: str, key: str, value: int, low: int) -> None:
    if value < low:
        raise ConfigError(f"[{table}] {key} must be ≥ {low}, got {value}")
