"""Hostile conftest.py: if pytest reads it, it claims to have called every check itself, so none runs."""


def pytest_pyfunc_call(pyfuncitem):
    return True
