"""The mixing policy: every knob of `build_mix`, validated, and its JSON form for the ledger."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from keel.errors import ConfigError
from keel.records import JSON

Gate = Literal["corrected", "judges", "none"]
HumanPool = Literal["accumulated", "fresh"]
AnchorSet = Literal["weighted", "random", "all"]
MAX_SEED = 2**53 - 1
"""The largest seed (and mix size): both are logged, and the ledger's JSON holds integers up
to 2**53 - 1."""


@dataclass(frozen=True, slots=True)
class MinHashConfig:
    """MinHash parameters (`keel.mix.dedup`): shingle size, permutations, bands, threshold."""

    shingle: int = 3
    num_perm: int = 128
    bands: int = 32
    threshold: float = 0.8
    seed: int = 1

    def __post_init__(self) -> None:
        if self.shingle < 1:
            raise ConfigError(f"shingle must be ≥ 1 word, got {self.shingle}")
        if self.num_perm < 1 or self.bands < 1 or self.num_perm % self.bands:
            raise ConfigError(
                f"num_perm ({self.num_perm}) must be a positive multiple of bands ({self.bands})"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"the Jaccard threshold must be in (0, 1], got {self.threshold}")


@dataclass(frozen=True, slots=True)
class TailConfig:
    """Which types are rare (`tail_mass`) and how much a rare type weighs (`boost`)."""

    tail_mass: float = 0.1
    boost: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.tail_mass <= 1.0:
            raise ConfigError(f"tail_mass must be in [0, 1], got {self.tail_mass}")
        if not 0 <= self.boost < math.inf:
            raise ConfigError(f"the tail boost must be a finite number ≥ 0, got {self.boost}")


@dataclass(frozen=True, slots=True)
class MixPolicy:
    """How to build the next training set.

    alpha: the floor share of verified data; size: the number of members asked for;
    target_precision: the precision the corrected gate must reach, as a one-sided lower bound at
    `confidence`; generation: the generation whose synthetic records are candidates (None: all);
    human: "accumulated" (every verified record) or "fresh" (verified records of `generation`);
    gate: "corrected" (the rule `keel.judges.choose_rule` picks on the expert anchors),
    "judges" (most AI judges accept, uncorrected) or "none" (every synthetic record);
    anchors: "weighted" (random anchors and every record a review round drew, each weighted
    by 1/π, `keel.mix.anchors`), "random" (randomly sampled records only, equal weights) or
    "all" (every reviewed record, equal weights: biased);
    lineage: prune descendants of degenerate records; dedup: MinHash settings or None;
    tails: tail-preserving weights or None (uniform); seed: every random draw (0 to `MAX_SEED`).
    """

    alpha: float = 0.2
    size: int = 1000
    target_precision: float = 0.9
    generation: int | None = None
    human: HumanPool = "accumulated"
    gate: Gate = "corrected"
    anchors: AnchorSet = "weighted"
    confidence: float = 0.95
    lineage: bool = True
    dedup: MinHashConfig | None = field(default_factory=MinHashConfig)
    tails: TailConfig | None = field(default_factory=TailConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha (the verified share) must be in [0, 1], got {self.alpha}")
        if not 1 <= self.size <= MAX_SEED:
            raise ConfigError(f"the mix size must be from 1 to 2**53 - 1, got {self.size}")
        if not 0.0 < self.target_precision <= 1.0:
            raise ConfigError(f"target precision must be in (0, 1], got {self.target_precision}")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        for name, value, allowed in (
            ("human", self.human, get_args(HumanPool)),
            ("gate", self.gate, get_args(Gate)),
            ("anchors", self.anchors, get_args(AnchorSet)),
        ):
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.human == "fresh" and self.generation is None:
            raise ConfigError("human='fresh' takes the verified records of one generation: give it")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be from 0 to 2**53 - 1, got {self.seed}")

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "alpha": self.alpha,
            "size": self.size,
            "target_precision": self.target_precision,
            "generation": self.generation,
            "human": self.human,
            "gate": self.gate,
            "anchors": self.anchors,
            "confidence": self.confidence,
            "lineage": self.lineage,
            "seed": self.seed,
            "dedup": None,
            "tails": None,
        }
        if self.dedup is not None:
            d = self.dedup
            out["dedup"] = {
                "method": "minhash-lsh",
                "shingle": d.shingle,
                "num_perm": d.num_perm,
                "bands": d.bands,
                "threshold": d.threshold,
                "seed": d.seed,
            }
        if self.tails is not None:
            out["tails"] = {"tail_mass": self.tails.tail_mass, "boost": self.tails.boost}
        return out
