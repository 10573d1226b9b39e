"""Package namespaces that import their submodules on first use.

A package's `__init__` calls `lazy(__name__, {submodule: names})`; a name's submodule is
imported the first time the name is read. So `import keel.cli` (and `keel --help`) loads no
numpy, scipy or pyarrow: the commands that need them import them when they run. The packages
repeat the imports under `if TYPE_CHECKING:` for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from types import ModuleType


def lazy(package: str, exports: Mapping[str, tuple[str, ...]]) -> None:
    """Make `package` export the names of each submodule in `exports`, imported on first read.

    The first read of a name imports its submodule and binds all of that submodule's names in
    the package, as an eager `from .submodule import ...` would. A name that is also a
    submodule's (`keel.judges.audit`, the function of the module of the same name) stays the
    export when that submodule is imported, as it does after an eager import.
    """
    home = {name: module for module, names in exports.items() for name in names}

    class LazyPackage(ModuleType):
        def __getattr__(self, name: str) -> object:
            module = home.get(name)
            if module is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            loaded = importlib.import_module(f"{package}.{module}")
            for each in exports[module]:
                super().__setattr__(each, getattr(loaded, each))
            return getattr(loaded, name)

        def __setattr__(self, name: str, value: object) -> None:
            if not (name in home and isinstance(value, ModuleType)):
                super().__setattr__(name, value)

        def __dir__(self) -> list[str]:
            return sorted(set(vars(self)) | set(home))

    sys.modules[package].__class__ = LazyPackage
