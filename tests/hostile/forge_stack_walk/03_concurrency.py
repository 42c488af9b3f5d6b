"""Hostile: the stub, with three lines that walk up the stack looking for the grader's result channel and secret."""
import sys as _sys

_frame, _found = _sys._getframe(), {}
while _frame is not None:
    _found.update({k: v for k, v in _frame.f_locals.items() if k in ("token", "send", "result_fd", "reporter")})
    _frame = _frame.f_back


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")
