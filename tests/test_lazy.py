"""Packages that load their submodules on first use (`keel._lazy`) export what they always did:
every name in `__all__` is the object its submodule defines, and a function that shares its
name with a submodule (`keel.judges.audit`) stays the function once that submodule is loaded."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY = ["keel.collapse", "keel.collapse.simulate", "keel.judges", "keel.loop", "keel.mix",
        "keel.models"]  # fmt: skip


@pytest.mark.parametrize("name", LAZY)
def test_every_exported_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    for export in package.__all__:
        value = getattr(package, export)
        assert value is not None
        assert export in dir(package)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = package.nothing_here


@pytest.mark.parametrize(
    ("submodule", "package", "name"),
    [
        ("keel.collapse.simulate.gaussian", "keel.collapse", "simulate"),
        ("keel.judges.audit", "keel.judges", "audit"),
        ("keel.collapse.watch", "keel.collapse", "watch"),
        ("keel.mix.dedup", "keel.mix", "dedup"),
    ],
)
def test_a_function_named_like_its_submodule_stays_the_function(
    submodule: str, package: str, name: str
) -> None:
    code = (
        f"import {submodule}\nfrom {package} import {name}\n"
        f"import types\nprint(isinstance({name}, types.FunctionType))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
