"""keel: keep AI-trains-AI loops anchored to verified human data."""

__version__ = "0.1.0"
