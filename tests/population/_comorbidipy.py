"""Import ``comorbidipy`` (0.5.0) under pandas 2.

comorbidipy 0.5.0 imports ``SettingWithCopyWarning`` from ``pandas.core.common``, where
pandas 1 kept it; pandas 2 has it in ``pandas.errors``. Point the old name at the new one
before importing. Its pandas calls also raise pandas FutureWarnings, which the tests that
call it ignore.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pandas as pd
import pandas.core.common as pandas_common
import pytest


def load() -> ModuleType:
    if not hasattr(pandas_common, "SettingWithCopyWarning"):
        pandas_common.SettingWithCopyWarning = pd.errors.SettingWithCopyWarning  # type: ignore[attr-defined]
    try:
        return importlib.import_module("comorbidipy")
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.skip("comorbidipy is not installed")
