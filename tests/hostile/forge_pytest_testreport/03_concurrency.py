"""Hostile: makes pytest's TestReport say "passed" whatever the check did."""
import asyncio

import _pytest.reports
import pytest

_original = _pytest.reports.TestReport.from_item_and_call.__func__


def _from_item_and_call(cls, item, call):
    report = _original(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report


_pytest.reports.TestReport.from_item_and_call = classmethod(_from_item_and_call)
pytest.TestReport.from_item_and_call = classmethod(_from_item_and_call)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
