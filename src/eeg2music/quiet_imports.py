"""Imports of third-party modules that warn about their own dependencies at import time.

braindecode 1.8 builds MNE's deprecated ``standard_1020`` montage at import, and its datasets pull in wfdb, which
trips a pandas 3 deprecation: noise for the user, not ours to fix, and errors under the tests' warning filter.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType


def braindecode(module: str = "braindecode") -> ModuleType:
    """``braindecode`` or one of its submodules (``"braindecode.models"``), imported without its import noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (FutureWarning, DeprecationWarning))
        return importlib.import_module(module)
