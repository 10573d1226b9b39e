"""Built-in generators: small language models trained from scratch in seconds, no GPU needed;
and any served model behind an OpenAI-compatible chat API (the `[llm]` extra)."""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.models.endpoint import DEFAULT_KEY_ENV, endpoint_key
    from keel.models.ngram import NGramModel, perplexity
    from keel.models.served import (
        ChatRequest,
        Completion,
        ResponseCache,
        Sampling,
        ServedGenerator,
        ServedModel,
    )
    from keel.models.textmodel import TextModel

__all__ = [
    "DEFAULT_KEY_ENV",
    "ChatRequest",
    "Completion",
    "NGramModel",
    "ResponseCache",
    "Sampling",
    "ServedGenerator",
    "ServedModel",
    "TextModel",
    "endpoint_key",
    "perplexity",
]

lazy(
    __name__,
    {
        "ngram": (
            "NGramModel",
            "perplexity",
        ),
        "endpoint": ("DEFAULT_KEY_ENV", "endpoint_key"),
        "served": (
            "ChatRequest",
            "Completion",
            "ResponseCache",
            "Sampling",
            "ServedGenerator",
            "ServedModel",
        ),
        "textmodel": ("TextModel",),
    },
)
