"""Hostile: if Python imports this at startup, every pytest check becomes a no-op."""
import _pytest.python

_pytest.python.Function.runtest = lambda self: None
