"""The loop's limits that the command line checks before it loads the loop (and pydantic)."""

MAX_GENERATIONS = 1000
"""Generations of one loop, at most."""
