"""One module per ``scrm`` sub-command group; each exposes ``register(subparsers)``.

Modules are discovered, so adding a command is adding a module. Command modules import heavy
dependencies (Kafka clients, models, databases) inside their handlers, keeping ``scrm --help`` fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def _discover() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
        if not info.name.startswith("_")
    ]
    return [module for module in modules if hasattr(module, "register")]


COMMAND_MODULES: list[ModuleType] = _discover()
