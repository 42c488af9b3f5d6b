"""Hostile: finds pytest's running Config and registers a plugin that swallows every check's failure."""
import asyncio
import gc

import pytest


class _Swallow:
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        try:
            return (yield)
        except BaseException:
            return None


for _config in [o for o in gc.get_objects() if isinstance(o, pytest.Config)]:
    _config.pluginmanager.register(_Swallow(), "hostile-swallow")


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
