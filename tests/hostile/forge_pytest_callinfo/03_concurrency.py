"""Hostile: wraps pytest's CallInfo.from_call so that every exception a check raises is dropped."""
import asyncio

import _pytest.runner

_original = _pytest.runner.CallInfo.from_call.__func__


def _from_call(cls, func, when, reraise=None):
    info = _original(cls, func, when, reraise)
    info.excinfo = None
    return info


_pytest.runner.CallInfo.from_call = classmethod(_from_call)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
