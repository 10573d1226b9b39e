"""Importing an optional extra's module in tests: skip without it, unless CI installed it."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def need(module: str, extra: str) -> ModuleType:
    """Import `module`; skip the test when it is missing, or fail when KEEL_REQUIRE_EXTRAS=1
    (`make test-extras` sets it after installing the extras)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("KEEL_REQUIRE_EXTRAS") == "1":
            raise
        pytest.skip(f"{module} is not installed: `make test-extras` installs the [{extra}] extra")
