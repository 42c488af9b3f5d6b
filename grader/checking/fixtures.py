"""Fixtures every check may ask for, loaded as a pytest plugin in the check process (the judge)."""

from __future__ import annotations

import pytest

from grader.checking.subject import Subject

_current: Subject | None = None


def use_subject(subject: Subject | None) -> None:
    """Point the checks of this process at one exercise's subject (``None`` between exercises)."""
    global _current
    _current = subject


def current_subject() -> Subject:
    if _current is None:
        raise RuntimeError("no exercise is being checked")
    return _current


@pytest.fixture
def exercise() -> Subject:
    """The subject process that holds the student's module: checks call its probes."""
    return current_subject()
