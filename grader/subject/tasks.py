"""Every task the student's code creates during a probe, as it is created: for probes that judge what was left running.

Runs in the subject. The running loop's task factory is wrapped for the length of a
``with`` block (any factory already set keeps making the tasks), so a task made by
``create_task``, ``ensure_future``, ``gather`` or a ``TaskGroup`` is seen the moment it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, cast

from grader.subject.handout import handed


@contextlib.contextmanager
def recording_tasks(created: Callable[[asyncio.Task[Any]], object]) -> Iterator[None]:
    """Call ``created(task)`` for every task made on the running loop inside the block."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        task = cast("asyncio.Task[Any]", made)  # a task factory makes a Task, typed as a Future
        created(task)
        return task

    loop.set_task_factory(handed(factory))  # whose closure leads nowhere: ``created`` keeps evidence
    try:
        yield
    finally:
        loop.set_task_factory(previous)
