"""Hostile pytest plugin: every check passes, whatever it found."""
import _pytest.python
import pytest

_pytest.python.Function.runtest = lambda self: None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except BaseException:
        return None
