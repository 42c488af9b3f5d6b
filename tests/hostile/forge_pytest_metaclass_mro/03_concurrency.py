"""Hostile: wrong answers; Function.runtest replaced, and hidden behind a fake __mro__ served by pytest's metaclass."""
import sys
_P = sys.modules["_pytest.python"]
_N = sys.modules["_pytest.nodes"]
_F = _P.Function
class _Holder:
    pass
_Holder.runtest = _F.__dict__["runtest"]
_Holder.setup = _F.__dict__["setup"]
_fake = (_Holder,) + _F.__mro__
def _ga(cls, name, _tga=type.__getattribute__):
    if name == "__mro__" and cls is _F:
        return _fake
    return _tga(cls, name)
_N.NodeMeta.__getattribute__ = _ga
def _runtest(self):
    pass
_F.runtest = _runtest

async def run_sequentially(worker, jobs):
    return []

async def run_concurrently(worker, jobs):
    return []
