"""Probes for 09_blocking, run in the subject: hand the student's code a blocking function that watches the loop.

What is judged is *where* things ran, never how long they took. The judge's blocking
function (``func``, ``hasher``) notes the thread that runs it, then, in that thread,
waits until the event loop has shown it is alive: a heartbeat on the loop ticked
``ticks`` times since the function began (for ``run_with_heartbeat``, the student's own
``beat()``; otherwise the probe's ticker), and, for ``hash_files``, ``limit`` calls were
running at once. Only a loop that runs while the function runs can end that wait, so:

* on the loop's own thread the function does not wait at all: nothing else can run
  there until it returns, and the evidence says so (``on_loop``);
* in a worker thread whose loop is frozen (``future.result()``, ``thread.join()`` in a
  coroutine) the wait ends at ``LOOP_CAP`` real seconds with no tick (``frozen``); a
  right answer needs a few milliseconds, so the cap is never reached on any machine;
* ``alone``: the cap passed without ``limit`` calls ever running at once;
* ``no_beats``: the probe's ticker went on, but the student's heartbeat did not beat
  (``GIVE_UP`` ticks): decided on the loop's clock, by the order of its timers.

Virtual time: looptime fast-forwards the clock when the loop would sleep, except while a
``loop.run_in_executor`` future (``to_thread``'s too) is pending: then it sleeps for real
until the next timer and moves the clock exactly onto it, so timers keep their order and
their spacing on the loop's clock. A future it does not know of (``asyncio.wrap_future``
of an executor's own ``submit``, a thread of the student's own) would let the clock jump
to the deadline before the thread has run; so the probe keeps one executor job of its
own pending while the student's call runs (at most ``PACE_CAP`` real seconds): every way
of running a thread then sees the same clock.

How many calls run at once is counted twice: by the calls themselves as their threads
start (a lower bound: a thread may start late on a loaded machine), and by the jobs handed
to thread pools (``ThreadPoolExecutor.submit``, which ``to_thread`` and
``run_in_executor`` use), counted on the loop's own thread, in the order of its steps: at
most ``max_workers`` of a pool's outstanding jobs can run at once. Both are deterministic
where the judge relies on them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    handed,
    plain,
    probe,
    source,
    tasks,
    virtual_time,
    within,
)

LOOP_CAP = 0.75  # real seconds the judge's function waits for the loop to show life; a right answer needs milliseconds
PACE_CAP = 1.0  # real seconds the loop's clock is kept in step with real time during one call
DEADLINE = 2.0  # virtual seconds one call of the student's code may take
TICK = 0.002  # virtual seconds between two ticks of the probe's own heartbeat
GIVE_UP = 10  # ticks of the probe's heartbeat without the student's beats: their heartbeat does not beat
AFTER = 5  # intervals the probe keeps watching for beats after run_with_heartbeat has returned


class JobFailed(Exception):
    """What the judge's func raises when the judge asks it to: run_with_heartbeat must let it through."""


class Watch:
    """The loop's heartbeat as the judge's function sees it from its thread, and what every call of it did."""

    def __init__(self, ticks: int, together: int, beats_count: bool) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.origin = virtual_time.now()
        self.needed, self.together, self.beats_count = ticks, together, beats_count
        self.cond = threading.Condition()
        self.ticks = 0  # what proves the loop alive: the probe's ticks, or the student's beats on the loop
        self.watch = 0  # the probe's own ticks, the clock a missing heartbeat is judged by
        self.in_flight = 0
        self.max_in_flight = 0
        self.frozen = False  # a call waited LOOP_CAP with no tick: the loop was not running
        self.alone = False  # a call waited LOOP_CAP and `together` calls never ran at once
        self.released = False
        self.returned = False
        self.calls: list[dict[str, Any]] = []
        self.beats: list[dict[str, Any]] = []
        self.student: asyncio.Task[Any] | None = None
        self.created: list[asyncio.Task[Any]] = []  # the tasks the student's code started
        self.waiting_at: dict[str, Any] | None = None  # the student's await that held its coroutine while a call ran
        self.tasks_at: list[dict[str, Any]] | None = None  # where the student's other tasks waited meanwhile
        self.frozen_at: dict[str, Any] | None = None  # the student's line the loop's thread was held at, frozen
        self.submissions: Submissions | None = None  # the pool jobs handed over meanwhile

    def now(self) -> float:
        return round(virtual_time.now() - self.origin, 6)

    def tick(self) -> None:
        if self.in_flight and self.tasks_at is None and self.student is not None:
            # The first tick while a call runs in its thread: where the student's coroutines wait meanwhile.
            self.waiting_at = source.suspended_at(self.student) if not self.student.done() else None
            others = [source.suspended_at(t) for t in self.created if t is not self.student and not t.done()]
            self.tasks_at = [where for where in others if where]
        with self.cond:
            self.watch += 1
            if not self.beats_count:
                self.ticks += 1
            self.cond.notify_all()

    def beat(self) -> None:
        """The ``beat`` handed to the student's run_with_heartbeat."""
        if self.released:
            return
        on_loop = threading.get_ident() == self.loop_thread
        with self.cond:
            self.beats.append({
                "at": self.now() if on_loop else None,
                "on_loop": on_loop,
                "during": self.in_flight > 0,
                "after_return": self.returned,
            })  # fmt: skip
            if on_loop and self.beats_count:
                self.ticks += 1
                self.cond.notify_all()

    def blocking(self, value: Any, fails: str | None = None) -> Callable[..., Any]:
        """The judge's blocking function: returns ``value`` (or raises JobFailed(fails)) once the loop showed life."""

        def func(*args: Any, **kwargs: Any) -> Any:
            self.run(list(args), kwargs)
            if fails is not None:
                raise JobFailed(fails)
            return value

        return handed(func)  # the student's code gets no way back to the watch

    def hasher(self, values: dict[str, str]) -> Callable[..., Any]:
        def hasher(*args: Any, **kwargs: Any) -> Any:
            self.run(list(args), kwargs)
            return values.get(args[0]) if len(args) == 1 and isinstance(args[0], str) else None

        return handed(hasher)

    def run(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        on_loop = threading.get_ident() == self.loop_thread
        if self.submissions is not None:
            self.submissions.calls_judge()
        call: dict[str, Any] = {
            "args": plain(args),
            "kwargs": plain(kwargs),
            "on_loop": on_loop,
            "site": source.caller_in_exercise(),
            "started_after_return": self.returned,
        }
        self.calls.append(call)
        if on_loop:
            call.update(waited="on_loop", ticks=0, ended_after_return=self.returned)
            return
        with self.cond:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            start_ticks, start_watch = self.ticks, self.watch
            outcome = self.wait(start_ticks, start_watch)
            self.in_flight -= 1
            call.update(waited=outcome, ticks=self.ticks - start_ticks, ended_after_return=self.returned)

    def wait(self, start_ticks: int, start_watch: int) -> str:
        """Wait (holding ``cond``) until the loop shows life; say how the wait ended."""
        if self.frozen:
            return "skipped"  # the loop did not run for an earlier call: once is enough to say so

        def alive() -> bool:
            together = self.max_in_flight >= self.together or self.alone
            lively = self.ticks - start_ticks >= self.needed or self.watch - start_watch >= GIVE_UP
            return self.released or (together and lively)

        self.cond.wait_for(alive, timeout=LOOP_CAP)
        together = self.max_in_flight >= self.together or self.alone
        if together and self.ticks - start_ticks >= self.needed:
            return "opened"
        if self.released:
            return "released"
        if self.watch - start_watch < min(self.needed, GIVE_UP):
            self.frozen = True
            self.frozen_at = self.loop_thread_line()
            return "frozen"
        if not together:
            self.alone = True
            return "alone"
        return "no_beats"

    def loop_thread_line(self) -> dict[str, Any] | None:
        """The student's innermost line on the loop thread's stack: where it holds the loop (a .result(), a .join())."""
        frame = sys._current_frames().get(self.loop_thread)
        while frame is not None:
            if source.in_exercise(frame.f_code):
                return source.source_ref(frame.f_lineno)
            frame = frame.f_back
        return None

    def release(self) -> None:
        with self.cond:
            self.released = True
            self.cond.notify_all()

    def in_progress(self) -> bool:
        return any("waited" not in call for call in self.calls)


class Submissions:
    """Jobs handed to thread pools: how many of those that called the judge's function the pools could run at once.

    Counted from the order in which jobs were handed over and finished, as the pools
    saw it. Only jobs that called the judge's function count: a job that only hands
    others to a pool (``to_thread(lambda: list(pool.map(hasher, paths)))``) runs no
    hasher itself.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: list[dict[str, Any]] = []  # each job handed over: its pool, the pool's workers, whether it called the judge
        self.order: list[tuple[bool, int]] = []  # (handed over, not finished; job) in the order it happened
        self.skip: set[int] = set()  # the probe's own pacer pools
        self.current = threading.local()  # the job this thread is running, if a pool's
        # Each pool's number: not id(), which a pool made, used once and dropped passes on to the next.
        self.numbers: weakref.WeakKeyDictionary[concurrent.futures.ThreadPoolExecutor, int] = weakref.WeakKeyDictionary()
        self.numbered = itertools.count()

    @property
    def max_runnable(self) -> int:
        """The most jobs that called the judge's function that the pools could have been running at one moment."""
        workers = {job["pool"]: job["workers"] for job in self.jobs}
        outstanding: dict[int, int] = {}
        most = 0
        for handed_over, index in self.order:
            job = self.jobs[index]
            if job["calls_judge"]:
                outstanding[job["pool"]] = outstanding.get(job["pool"], 0) + (1 if handed_over else -1)
                most = max(most, sum(min(count, workers[pool]) for pool, count in outstanding.items()))
        return most

    @property
    def pools(self) -> int:
        """How many thread pools ran jobs that called the judge's function."""
        return len({job["pool"] for job in self.jobs if job["calls_judge"]})

    def calls_judge(self) -> None:
        """The judge's function was called on this thread: the pool job running here (if any) counts."""
        index = getattr(self.current, "job", None)
        if index is not None:
            self.jobs[index]["calls_judge"] = True

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        cls = concurrent.futures.ThreadPoolExecutor
        original = cls.__dict__["submit"]
        watch = self

        def submit(pool: concurrent.futures.ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if id(pool) in watch.skip:
                return original(pool, fn, *args, **kwargs)
            with watch.lock:
                index = len(watch.jobs)
                number = watch.numbers.get(pool)
                if number is None:
                    number = watch.numbers[pool] = next(watch.numbered)
                watch.jobs.append({"pool": number, "workers": int(getattr(pool, "_max_workers", 1 << 30)), "calls_judge": False})
                watch.order.append((True, index))

            def job() -> Any:
                watch.current.job = index
                try:
                    return fn(*args, **kwargs)
                finally:
                    watch.current.job = None

            try:
                future = original(pool, handed(job))
            except BaseException:
                watch.finished(index)
                raise
            future.add_done_callback(handed(lambda _: watch.finished(index)))
            return future

        # The pool's submit, watched while the student's code runs: a stand-in, whose closure leads nowhere.
        cls.submit = handed(submit)  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            cls.submit = original  # type: ignore[method-assign]  # put back

    def finished(self, index: int) -> None:
        with self.lock:
            self.order.append((False, index))

    def pending(self) -> bool:
        with self.lock:
            handed_over = sum(1 if over else -1 for over, _ in self.order)
        return handed_over > 0


@contextlib.contextmanager
def paced(loop: asyncio.AbstractEventLoop, submissions: Submissions) -> Iterator[None]:
    """Keep one executor job pending (at most PACE_CAP real seconds): the loop's clock then follows real time."""
    done = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pacer")
    submissions.skip.add(id(pool))
    pacer = loop.run_in_executor(pool, done.wait, PACE_CAP)
    try:
        yield
    finally:
        done.set()
        pacer.cancel()
        pool.shutdown(wait=False)


async def ticker(watch: Watch) -> None:
    while True:
        await asyncio.sleep(TICK)
        watch.tick()


def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop "exception was never retrieved" for a CancelledError: the probe's own cleanup caused it."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


async def observe(watch: Watch, call: Callable[[], Coroutine[Any, Any, Any]], what: str, after: float = 0.0) -> dict[str, Any]:
    """Run the student's ``call()`` with the probe's ticker going; evidence of what ran where, and what it returned.

    ``after``: virtual seconds to keep watching once the call is over (a heartbeat left
    beating). Calls of the judge's function still running then are waited for, so the
    evidence is complete and no thread of the judge's outlives the probe.
    """
    loop = watch.loop
    loop.set_exception_handler(handed(quiet))
    evidence: dict[str, Any] = {"left_running": [], "hang": None}
    created: list[asyncio.Task[Any]] = []
    submissions = watch.submissions = Submissions()

    async def student() -> Any:
        result = await call()
        # Still in the step in which the student's coroutine returned.
        watch.returned = True
        evidence["left_running"] = [describe_task(t) for t in created if not t.done()]
        return result

    tick = asyncio.create_task(ticker(watch))
    task = watch.student = asyncio.create_task(student())  # created before recording starts: only the student's are
    watch.created = created
    try:
        with tasks.recording_tasks(created.append), submissions.watching():
            with paced(loop, submissions):
                try:
                    evidence["result"] = plain(await within(asyncio.shield(task), DEADLINE, what))
                except Deadline as timeout:
                    pending = [describe_task(t) for t in created if not t.done()]
                    evidence["hang"] = {"what": timeout.what, "seconds": timeout.seconds, "pending": pending}
                except Exception as exc:  # noqa: BLE001 - the student's exception, judged with the rest of the evidence
                    evidence["raised"] = describe_raised(exc)
                except asyncio.CancelledError:
                    if not (task.done() and task.cancelled()):
                        raise  # the probe's own call is being cancelled
                    # The student's call ended cancelled though nothing cancelled it (it awaited a task it had
                    # cancelled): the task keeps that CancelledError. Its traceback's first line of the student's
                    # is that await; the deepest is where the other task was cancelled.
                    cancelled = task._make_cancelled_error()  # type: ignore[attr-defined]
                    evidence["raised"] = {**describe_raised(cancelled), "source": source.first_student_line(cancelled.__traceback__)}
                finally:
                    watch.returned = True
            # The student's code is done: what it left behind (a heartbeat, a thread) gets a while to show itself.
            if after:
                await asyncio.sleep(after)
            for _ in range(3):
                await asyncio.sleep(0)  # a task it left behind takes its first step: it may hand a job to a pool
            with paced(loop, submissions):
                until = virtual_time.now() + 2 * LOOP_CAP
                while (watch.in_progress() or submissions.pending()) and virtual_time.now() < until:
                    await asyncio.sleep(TICK)
    finally:
        watch.release()
        await cancel_leftovers([task, tick, *created])
    evidence.update(
        calls=watch.calls,
        beats=watch.beats,
        max_in_flight=watch.max_in_flight,
        max_runnable=submissions.max_runnable,
        pools=submissions.pools,
        waiting_at=watch.waiting_at or watch.frozen_at,
        tasks_at=watch.tasks_at or [],
    )
    return evidence


@probe
async def run_blocking(exercise: ModuleType, args: list[Any], value: str, ticks: int) -> dict[str, Any]:
    """``run_blocking(func, *args)`` with the judge's func: what it returned, and where and when func ran."""
    watch = Watch(ticks, together=1, beats_count=False)
    func = watch.blocking(value)
    return await observe(watch, lambda: exercise.run_blocking(func, *args), "run_blocking()")


@probe
async def run_with_heartbeat(
    exercise: ModuleType, value: str, interval: float, beats: int, fails: str | None = None
) -> dict[str, Any]:
    """``run_with_heartbeat(func, beat, interval)``: func's thread, every beat (when, from which thread), what it
    returned or raised, the tasks it left running, and the beats that came after it returned."""
    watch = Watch(beats, together=1, beats_count=True)
    func = watch.blocking(value, fails)
    evidence = await observe(
        watch, lambda: exercise.run_with_heartbeat(func, handed(watch.beat), interval), "run_with_heartbeat()", AFTER * interval
    )
    raised = evidence.get("raised")
    if raised and raised.get("type") == JobFailed.__name__:
        evidence["raised_job_failed"] = raised.get("message")
    return evidence


@probe
async def hash_files(exercise: ModuleType, values: dict[str, str], limit: int, ticks: int) -> dict[str, Any]:
    """``hash_files(paths, hasher, limit)``: which paths were hashed, where, how many at once, and the result."""
    watch = Watch(ticks, together=limit, beats_count=False)
    hasher = watch.hasher(values)
    return await observe(watch, lambda: exercise.hash_files(list(values), hasher, limit), "hash_files()")


def describe_task(task: asyncio.Task[Any]) -> dict[str, str]:
    coro = task.get_coro()
    name = str(getattr(coro, "__name__", None) or task.get_name())
    return {"name": name, "state": "cancelling" if task.cancelling() else "running"}


async def cancel_leftovers(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever the student's code (and the probe's ticker) left running, so the next probe starts clean."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at a later garbage collection
