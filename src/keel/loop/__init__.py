"""The anchored loop, generation after generation (`keel loop run loop.toml`), and the demo that
runs several loops side by side."""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.loop.config import (
        GeneratorConfig,
        HumanConfig,
        JudgeConfig,
        LoopConfig,
        MixConfig,
        ReviewConfig,
        config_from,
        load_config,
    )
    from keel.loop.run import (
        GenerationSummary,
        LoopResult,
        ReviewStatus,
        Step,
        run_loop,
        split_human,
    )
    from keel.loop.truth import GroundTruth

__all__ = [
    "GenerationSummary",
    "GeneratorConfig",
    "GroundTruth",
    "HumanConfig",
    "JudgeConfig",
    "LoopConfig",
    "LoopResult",
    "MixConfig",
    "ReviewConfig",
    "ReviewStatus",
    "Step",
    "config_from",
    "load_config",
    "run_loop",
    "split_human",
]

lazy(
    __name__,
    {
        "config": (
            "GeneratorConfig",
            "HumanConfig",
            "JudgeConfig",
            "LoopConfig",
            "MixConfig",
            "ReviewConfig",
            "config_from",
            "load_config",
        ),
        "run": (
            "GenerationSummary",
            "LoopResult",
            "ReviewStatus",
            "Step",
            "run_loop",
            "split_human",
        ),
        "truth": ("GroundTruth",),
    },
)
