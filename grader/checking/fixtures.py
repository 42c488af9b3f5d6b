"""Fixtures every check may ask for, loaded as a pytest plugin in the check process."""

from __future__ import annotations

from types import ModuleType

import pytest

from grader.checking.context import load_exercise
from grader.checking.timeline import Timeline


@pytest.fixture
def exercise() -> ModuleType:
    """The student's module, imported once per process (an import failure fails the check)."""
    return load_exercise()


@pytest.fixture
def timeline() -> Timeline:
    """A fresh recorder of injected workers."""
    return Timeline()
