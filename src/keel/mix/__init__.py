"""Anchored mixing: the next training set from the ledger, logged as a mix entry.

`build_mix(ledger, MixPolicy(...))` returns a `MixPlan` (members with reasons, counts per rule,
the acceptance rule); `log_mix(ledger, plan)` appends it. The parts are usable alone:
`dedup` (MinHash LSH), `tainted` (lineage pruning), `rare_types` / `tail_weights` /
`weighted_sample` (tail-preserving sampling). `export_mix` writes a logged mix out for
training (JSONL, Parquet or a `datasets` folder) with its receipt, and `croissant_metadata`
its Croissant 1.1 description.
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
    from keel.mix.croissant import DataFile, MixFacts, croissant_metadata
    from keel.mix.dedup import dedup, jaccard, shingle_hashes, signatures
    from keel.mix.export import (
        SCHEMA,
        ExportFormat,
        ExportReport,
        check_export_target,
        export_mix,
    )
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
    "SCHEMA",
    "AnchorSet",
    "DataFile",
    "ExportFormat",
    "ExportReport",
    "Gate",
    "HumanPool",
    "LoggedMix",
    "Member",
    "MinHashConfig",
    "MixFacts",
    "MixPlan",
    "MixPolicy",
    "Reason",
    "TailConfig",
    "build_mix",
    "check_export_target",
    "croissant_metadata",
    "dedup",
    "export_mix",
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
        "croissant": ("DataFile", "MixFacts", "croissant_metadata"),
        "dedup": (
            "dedup",
            "jaccard",
            "shingle_hashes",
            "signatures",
        ),
        "export": ("SCHEMA", "ExportFormat", "ExportReport", "check_export_target", "export_mix"),
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
