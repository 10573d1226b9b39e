"""Anchored mixing: the next training set from the ledger, logged as a mix entry.

`build_mix(ledger, MixPolicy(...))` returns a `MixPlan` (members with reasons, counts per rule,
the acceptance rule); `log_mix(ledger, plan)` appends it. The parts are usable alone:
`dedup` (MinHash LSH), `tainted` (lineage pruning), `rare_types` / `tail_weights` /
`weighted_sample` (tail-preserving sampling).
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.mix.build import (
        LoggedMix,
        Member,
        MixPlan,
        Reason,
        build_mix,
        log_mix,
        read_mix,
        split_budget,
        verified_floor,
    )
    from keel.mix.dedup import dedup, jaccard, shingle_hashes, signatures
    from keel.mix.lineage import tainted
    from keel.mix.policy import (
        MAX_SEED,
        AnchorSet,
        Gate,
        HumanPool,
        MinHashConfig,
        MixPolicy,
        TailConfig,
    )
    from keel.mix.tails import rare_types, tail_weights, weighted_sample

__all__ = [
    "MAX_SEED",
    "AnchorSet",
    "Gate",
    "HumanPool",
    "LoggedMix",
    "Member",
    "MinHashConfig",
    "MixPlan",
    "MixPolicy",
    "Reason",
    "TailConfig",
    "build_mix",
    "dedup",
    "jaccard",
    "log_mix",
    "rare_types",
    "read_mix",
    "shingle_hashes",
    "signatures",
    "split_budget",
    "tail_weights",
    "tainted",
    "verified_floor",
    "weighted_sample",
]

lazy(
    __name__,
    {
        "build": (
            "LoggedMix",
            "Member",
            "MixPlan",
            "Reason",
            "build_mix",
            "log_mix",
            "read_mix",
            "split_budget",
            "verified_floor",
        ),
        "dedup": (
            "dedup",
            "jaccard",
            "shingle_hashes",
            "signatures",
        ),
        "lineage": ("tainted",),
        "policy": (
            "MAX_SEED",
            "AnchorSet",
            "Gate",
            "HumanPool",
            "MinHashConfig",
            "MixPolicy",
            "TailConfig",
        ),
        "tails": (
            "rare_types",
            "tail_weights",
            "weighted_sample",
        ),
    },
)
