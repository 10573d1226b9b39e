"""Built-in generators: small language models trained from scratch in seconds, no GPU needed;
and any served model behind an OpenAI-compatible chat API (the `[llm]` extra)."""

from keel.models.ngram import NGramModel, perplexity
from keel.models.served import (
    DEFAULT_KEY_ENV,
    ChatRequest,
    Completion,
    ResponseCache,
    Sampling,
    ServedGenerator,
    ServedModel,
    endpoint_key,
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
