"""Shared fixtures: the built-in kit, and paths to the kit's own folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.kit import Kit, load_kit

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def kit() -> Kit:
    return load_kit()
