"""Built-in generators: small language models trained from scratch in seconds, no GPU needed."""

from keel.models.ngram import NGramModel, perplexity

__all__ = ["NGramModel", "perplexity"]
