"""The tasks the student's code creates during a probe: each seen as it is created, or made to list last first.

Runs in the subject. The running loop's task factory is wrapped for the length of a
``with`` block (any factory already set keeps making the tasks), so a task made by
``create_task``, ``ensure_future``, ``gather`` or a ``TaskGroup`` is seen the moment it exists
(:func:`recording_tasks`). :func:`listed_last_first` makes tasks that a set lists newest first:
a set has no order, and code that reads results in a set's order then shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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


class LastFirst(asyncio.Task):  # type: ignore[type-arg]  # a Task of any result
    """A task that a set (``asyncio.wait``'s ``done``, say) lists after every task made later.

    Its hash falls as tasks are made, and a set lists small tables by hash: in the order of
    their making, reversed. The order of a set is no promise, so right code never relies on it.
    """

    made = itertools.count(1)
    FAR = 1 << 40  # hashes below it, falling: FAR - n is -n in every table a set of tasks uses

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.number = next(LastFirst.made)  # first: making the task registers it, by its hash
        super().__init__(*args, **kwargs)

    def __hash__(self) -> int:
        return self.FAR - self.number


@contextlib.contextmanager
def listed_last_first() -> Iterator[None]:
    """Make the tasks made on the running loop inside the block :class:`LastFirst` tasks."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        return LastFirst(coro, loop=loop, **kwargs)

    if previous is None:  # a factory of the code's own keeps making its tasks
        loop.set_task_factory(handed(factory))
    try:
        yield
    finally:
        loop.set_task_factory(previous)
