"""What a probe hands to the student's code leads nowhere: no closure, no defaults, globals of its own."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from grader.subject import handout


@pytest.fixture(scope="module", autouse=True)
def hook_installed() -> Iterator[None]:
    handout.install()  # an audit hook stays for the process's life: it answers only its own event
    yield


def recorder() -> tuple[list[Any], Any]:
    records: list[Any] = []

    def record(value: Any, *, twice: bool = False) -> Any:
        if value == "fail":
            raise LookupError(value)
        records.append(value)
        return value * 2 if twice else value

    return records, record


def test_a_stand_in_calls_the_function_and_leads_nowhere_else() -> None:
    records, record = recorder()
    stand_in = handout.handed(record)
    assert stand_in("a") == "a"
    assert stand_in("b", twice=True) == "bb"
    assert records == ["a", "b"]
    assert stand_in.__name__ == "record"
    assert stand_in.__closure__ is None and stand_in.__defaults__ is None and stand_in.__kwdefaults__ is None
    assert set(stand_in.__globals__) == {"_audit", "_EVENT", "_KEY", "__builtins__"}
    assert record not in stand_in.__globals__.values()


def test_what_the_function_raises_the_stand_in_raises() -> None:
    _, record = recorder()
    with pytest.raises(LookupError, match="fail"):
        handout.handed(record)("fail")


def test_an_event_raised_by_other_code_calls_nothing() -> None:
    records, record = recorder()
    stand_in = handout.handed(record)
    out: list[Any] = []
    sys.audit(handout.EVENT, stand_in.__globals__["_KEY"], ("forged",), {}, out)
    sys.audit(handout.EVENT, -1, (stand_in.__globals__["_KEY"], print), {}, [])  # a registration from elsewhere
    assert out == [] and records == []
    assert stand_in("real") == "real"
