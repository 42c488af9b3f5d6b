"""Probes for 12_capstone, run in the subject: crawl a fake site whose every fetch is recorded.

The judge chooses the site: its pages (random names), the links of each, how long each
fetch takes on the virtual clock, which pages are slower than the timeout and which one
raises. The student's ``crawl`` gets :func:`fetch`, which answers from that site and
records, for every fetch, when it started and when and how it ended (returned, raised,
cancelled). Tasks cannot travel to the judge, so the facts about them are gathered here:
every task ``crawl`` started, which of them were still pending when it returned or when
its CancelledError came out, what each was waiting in, and which died of an exception.

The records are kept out of the student's reach, as :mod:`grader.subject.timeline` keeps
its own: :func:`fetch` carries no reference to them, each fetch announces itself with an
audit event, and the one audit hook that keeps the records accepts events only from this
file's own code objects and reads the loop's clock itself.
"""

from __future__ import annotations

import asyncio
import dis
import inspect
import sys
from collections.abc import Coroutine
from types import CodeType, ModuleType
from typing import Any

from grader.subject import describe_raised, handed, plain, probe, source, tasks, virtual_time

EVENT = "asynclings.crawl"
MAX_FETCHES = 400  # fetches recorded per call: a crawl that never stops must not fill the memory
SEMAPHORES = frozenset({"Semaphore", "BoundedSemaphore"})  # names whose call makes a semaphore
_audit = sys.audit

QUEUE_GET: CodeType = asyncio.Queue.get.__code__
QUEUE_PUT: CodeType = asyncio.Queue.put.__code__
QUEUE_JOIN: CodeType = asyncio.Queue.join.__code__
SEMAPHORE: CodeType = asyncio.Semaphore.acquire.__code__
SLEEP: CodeType = asyncio.sleep.__code__
TASK_GROUP: CodeType = asyncio.TaskGroup.__aexit__.__code__


class ServerError(Exception):
    """What the site's broken page raises: an error of the server, not of the crawler."""


def fetch(url: str) -> Coroutine[Any, Any, list[str]]:
    """The site's fetch: a coroutine that takes the page's time and returns a fresh list of its links.

    A plain function returning the coroutine, so that the student's line that called it
    is on the stack and can be remembered.
    """
    page = _fetch(url)
    _audit(EVENT, "created", (url, source.caller_in_exercise(), page))
    return page


async def _fetch(url: str) -> list[str]:
    box: list[Any] = []
    _audit(EVENT, "started", (url, box))
    delay, links, fails = (box[0], box[1], box[2]) if box else (0.0, [], True)
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        _audit(EVENT, "ended", ("cancelled", box))
        raise
    except BaseException:
        _audit(EVENT, "ended", ("closed", box))
        raise
    _audit(EVENT, "ended", ("raised" if fails else "ok", box))
    if fails:
        raise ServerError(f"500 Internal Server Error: {url}" if links is not None else f"404 Not Found: {url}")
    return list(links)


# A coroutine of the site's fetch reads as `fetch` in the student's reprs and warnings.
_fetch.__name__ = _fetch.__qualname__ = "fetch"


def begin(site: dict[str, list[Any]]) -> None:
    """Start recording afresh: "now" is t=0, and the fetches answer from ``site`` ({url: [delay, links, fails]})."""
    _audit(EVENT, "begin", (site,))


def evidence(close: bool = False) -> dict[str, Any]:
    """Every fetch since :func:`begin`, and the fetch calls never awaited (closed, with ``close``, so Python does not warn)."""
    out: list[dict[str, Any]] = []
    _audit(EVENT, "evidence", (close, out))
    return out[0] if out else {"fetches": [], "never_awaited": [], "clock_went_backwards": False, "more": 0}


def _install() -> None:
    """Add the recording hook, once, when the probe file is loaded (before any student code is imported)."""
    trusted = {fetch.__code__, _fetch.__code__, begin.__code__, evidence.__code__}
    getframe, getstate, created_state = sys._getframe, inspect.getcoroutinestate, inspect.CORO_CREATED
    running_loop, get_running = asyncio.get_running_loop, asyncio.events._get_running_loop
    all_tasks = asyncio.all_tasks
    loop_class, loop_time = virtual_time.looptime.LoopTimeEventLoop, virtual_time.looptime.LoopTimeEventLoop.time
    caller_in_exercise = source.caller_in_exercise

    def now() -> float:
        if get_running() is None:
            return 0.0
        loop = running_loop()
        return round(loop_time(loop) if isinstance(loop, loop_class) else loop.time(), 6)

    state: dict[str, Any] = fresh({}, 0.0)
    inside = [False]

    def clock() -> float:
        moment: float = round(now() - state["origin"], 6)
        state["tampered"] = state["tampered"] or moment < state["last"]
        state["last"] = max(state["last"], moment)
        return moment

    def record(what: str, data: Any, frame: Any) -> None:
        nonlocal state
        if what == "begin":
            (site,) = data
            pages = {str(url): (float(page[0]), None if page[1] is None else [str(link) for link in page[1]], bool(page[2]))
                     for url, page in site.items()}  # fmt: skip
            state = fresh(pages, now())
        elif what == "created":
            url, site, job = data
            state["created"].append((job, {"call": f"fetch({url!r})", "source": site}))
        elif what == "started":
            url, box = data
            known = state["site"].get(url) if isinstance(url, str) else None
            delay, links, fails = known if known is not None else (0.0, None, True)
            called = next((call for job, call in state["created"] if getattr(job, "cr_frame", None) is frame), None)
            index = len(state["fetches"])
            if index < MAX_FETCHES:
                state["fetches"].append({
                    "url": url if isinstance(url, str) else repr(url)[:80], "start": clock(), "end": None,
                    "outcome": "running", "known": known is not None, "not_a_url": not isinstance(url, str),
                    "source": called["source"] if called else caller_in_exercise(),
                })  # fmt: skip
            else:
                state["more"] += 1
            box.extend((delay, links, fails, index, delay))
        elif what == "ended":
            outcome, box = data
            if len(box) == 5 and box[3] < len(state["fetches"]):
                entry = state["fetches"][box[3]]
                entry["end"], entry["outcome"] = clock(), outcome
                # A fetch that "returned" before its time passed did not really wait: the clock was faked.
                if outcome in ("ok", "raised") and entry["end"] - entry["start"] + 1e-6 < box[4]:
                    state["tampered"] = True
        elif what == "evidence":
            close, out = data
            in_tasks = {id(task.get_coro()) for task in all_tasks()} if get_running() is not None else set()
            never = []
            for job, call in state["created"]:
                if getstate(job) == created_state:
                    in_task = id(job) in in_tasks
                    if close and not in_task:
                        job.close()
                    never.append({**call, "task": in_task})
            if close:
                state["created"] = []
            out.append({
                "fetches": [dict(entry) for entry in state["fetches"]], "never_awaited": never,
                "clock_went_backwards": state["tampered"], "more": state["more"],
            })  # fmt: skip

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != EVENT or inside[0]:
            return
        inside[0] = True
        try:
            frame = getframe(1)
            if frame.f_code in trusted:
                record(args[0], args[1], frame)
        finally:
            inside[0] = False

    sys.addaudithook(hook)


def fresh(site: dict[str, Any], origin: float) -> dict[str, Any]:
    return {"site": site, "origin": origin, "last": 0.0, "tampered": False, "created": [], "fetches": [], "more": 0}


_install()


@probe
async def crawl(
    exercise: ModuleType,
    site: dict[str, list[Any]],
    start: str,
    limit: int,
    timeout: float,
    cancel_at: float | None,
    deadline: float,
) -> dict[str, Any]:
    """``crawl(start, fetch, limit, timeout)`` on the judge's site; with ``cancel_at``, cancelled at that moment.

    Evidence: ``outcome`` (``returned``, ``cancelled``, ``raised`` or ``hang``), ``ended_at``,
    ``report`` (what it returned, as plain values), ``raised``, ``left_running`` (the tasks it
    started that were pending the moment it returned or raised: name, state, what each waits
    in, the student's line), ``started_tasks``, ``at_end`` (the fetches as they were then),
    ``fetches`` (as they were once the tasks it left running had until the deadline to go
    on), ``crashed`` (tasks it started that died of an exception), ``cancelled_at`` and
    ``hang`` (what was still pending at the deadline, and where ``crawl`` waited).
    """
    created: list[asyncio.Task[Any]] = []
    sites: list[Any] = []
    found: dict[str, Any] = {"outcome": "hang", "ended_at": None, "report": None, "raised": None, "left_running": [],
                             "started_tasks": 0, "at_end": None, "cancelled_at": None, "cancel_site": None,
                             "started_before_cancel": None, "hang": None}  # fmt: skip
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(handed(quiet_cancellations))
    begin(site)
    origin = virtual_time.now()

    def ended(outcome: str) -> None:
        if found["hang"] is not None:
            return  # ended by the probe's own clean-up after the deadline: the hang is the evidence
        # Still in the step in which crawl returned or raised: no other task has run since.
        found["outcome"], found["ended_at"] = outcome, round(virtual_time.now() - origin, 6)
        found["left_running"] = [describe_task(t) for t in created if not t.done()]
        found["started_tasks"] = len(created)
        found["at_end"] = evidence()

    async def call() -> None:
        try:
            result = await exercise.crawl(start, handed(fetch), limit, timeout)  # ``fetch.__globals__``: the probe file's
        except asyncio.CancelledError:
            ended("cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - the student's exception is evidence
            ended("raised")
            found["raised"] = raised_evidence(exc)
            return
        ended("returned")
        found["report"] = report_of(result)

    task = asyncio.create_task(call())  # created before recording starts: only the student's tasks are recorded
    def created_now(task: asyncio.Task[Any]) -> None:
        created.append(task)
        sites.append(source.caller_in_exercise())

    with tasks.recording_tasks(created_now):
        try:
            if cancel_at is not None:
                await asyncio.wait({task}, timeout=cancel_at)
                if not task.done():
                    found["cancel_site"] = source.suspended_at(task)
                    found["started_before_cancel"] = len(evidence()["fetches"])
                    task.cancel()
                    found["cancelled_at"] = round(virtual_time.now() - origin, 6)
            await asyncio.wait({task}, timeout=max(deadline - (virtual_time.now() - origin), 0.0))
            if not task.done():
                found["hang"] = {
                    "seconds": round(virtual_time.now() - origin, 6),
                    **source.parked(task),
                    "waiting_in": waiting_in(task),
                    "pending": [describe_task(t) for t in created if not t.done()],
                }
                found["at_end"] = evidence()
            else:
                left = [t for t in created if not t.done()]
                if left:  # what it left running goes on until the deadline: the records show all its work
                    await asyncio.wait(left, timeout=max(deadline - (virtual_time.now() - origin), 0.0))
        finally:
            pending = [t for t in [task, *created] if not t.done()]
            for leftover in pending:
                leftover.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
    fatal = task.exception() if task.done() and not task.cancelled() else None
    if fatal is not None:
        raise fatal  # SystemExit, KeyboardInterrupt: an attempt to stop the run, not evidence
    found["crashed"] = crashed(created)
    found["task_sites"] = task_sites(sites)
    found["semaphores_per_call"] = semaphores_per_call(exercise.crawl)
    final = evidence(close=True)
    found["fetches"], found["never_awaited"] = final["fetches"], final["never_awaited"]
    found["more"], found["clock_went_backwards"] = final["more"], final["clock_went_backwards"]
    return found


def semaphores_per_call(function: Any) -> list[dict[str, Any]]:
    """The lines of functions nested in ``function`` that make a semaphore: one made anew each time they run."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if not isinstance(code, CodeType) or not source.in_exercise(code):
        return []
    found = []
    nested = [inner for inner in code.co_consts if isinstance(inner, CodeType)]
    while nested:
        inner = nested.pop()
        nested += [deeper for deeper in inner.co_consts if isinstance(deeper, CodeType)]
        for instruction in dis.get_instructions(inner):
            if instruction.argval in SEMAPHORES and instruction.positions and instruction.positions.lineno:
                found.append(source.source_ref(instruction.positions.lineno))
    return sorted(found, key=lambda ref: ref["line"])


def report_of(result: Any) -> dict[str, Any]:
    """What crawl returned, as plain values: a report's three parts, or the value itself."""
    try:
        if all(hasattr(result, part) for part in ("pages", "timed_out", "failed")):
            pages = result.pages
            if type(pages) is dict:
                pages = {plain(url) if isinstance(url, str) else repr(url)[:80]: links_of(links) for url, links in pages.items()}
            else:
                pages = plain(pages)
            return {"pages": pages, "timed_out": names_of(result.timed_out), "failed": names_of(result.failed)}
    except Exception:  # noqa: BLE001, S110 - a student's object that raises on reading is shown as it is
        pass
    return {"other": plain(result), "type": type(result).__name__}


def links_of(links: Any) -> Any:
    return [plain(link) for link in links] if type(links) in (list, tuple) else plain(links)


def names_of(urls: Any) -> Any:
    """A set, list or tuple of page names, sorted (duplicates kept); anything else as plain() gives it."""
    if type(urls) in (set, frozenset, list, tuple) and all(isinstance(url, str) for url in urls):
        return sorted(urls)
    return plain(urls)


def raised_evidence(exc: BaseException) -> dict[str, Any]:
    """The student's exception; an exception group's first few members too (a TaskGroup raises one)."""
    described = describe_raised(exc)
    if isinstance(exc, BaseExceptionGroup):
        described["inner"] = [describe_raised(inner) for inner in exc.exceptions[:3]]
    return described


def quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop "exception was never retrieved" for a CancelledError: the probe's own cleanup caused it."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def awaiting(task: asyncio.Task[Any]) -> list[CodeType]:
    """The chain of coroutines a suspended task is inside, outermost first."""
    codes = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        codes.append(awaited.cr_code)
        awaited = awaited.cr_await
    return codes


def waiting_in(task: asyncio.Task[Any]) -> str:
    """What a suspended task waits in, in the student's terms."""
    codes = awaiting(task)
    for code, what in ((_fetch.__code__, "fetch()"), (QUEUE_GET, "queue.get()"), (QUEUE_JOIN, "queue.join()"),
                       (QUEUE_PUT, "queue.put()"), (SEMAPHORE, "semaphore"), (TASK_GROUP, "taskgroup"),
                       (SLEEP, "asyncio.sleep()")):  # fmt: skip
        if code in codes:
            return what
    return "task"  # a future: another task, gather, an event, a lock


def task_name(task: asyncio.Task[Any]) -> str:
    """The student's coroutine's name (``worker``), which means more to them than ``Task-7``."""
    name = str(getattr(task.get_coro(), "__qualname__", None) or task.get_name())
    return name.rsplit("<locals>.", 1)[-1]


def describe_task(task: asyncio.Task[Any]) -> dict[str, Any]:
    """A pending task: its name; whether it was cancelled and has not yet run since (``cancel_pending``), was
    cancelled and went on (``swallowed``: it caught the CancelledError), or was never cancelled (``running``);
    what it waits in, and the student's line where it waits."""
    waiter = getattr(task, "_fut_waiter", None)
    where = waiting_in(task)
    # Still on its way out: the cancel not yet delivered, or delivered to a gather or TaskGroup that waits for its tasks.
    unwinding = getattr(task, "_must_cancel", False) or where == "taskgroup" or (
        waiter is not None and (waiter.cancelled() or getattr(waiter, "_cancel_requested", False))
    )
    if task.cancelling():
        state = "cancel_pending" if unwinding else "swallowed"
    else:
        state = "running"
    return {"name": task_name(task), "state": state, "waiting_in": where, "source": source.suspended_at(task)}


def task_sites(sites: list[Any]) -> list[dict[str, Any]]:
    """The student's lines that created tasks, each with how many it created, most first."""
    counted: dict[int, dict[str, Any]] = {}
    for site in sites:
        if site:
            counted.setdefault(site["line"], {"source": site, "tasks": 0})["tasks"] += 1
    return sorted(counted.values(), key=lambda entry: -entry["tasks"])


def crashed(tasks: list[asyncio.Task[Any]]) -> list[dict[str, Any]]:
    """The tasks of the student's coroutines that died of an exception, and what it was (a task that runs the
    site's fetch itself, as wait_for makes on 3.11, passes its error on to whoever awaits it). Retrieving the
    exception also keeps asyncio from logging "Task exception was never retrieved" later, at a random moment."""
    found = []
    for task in tasks:
        exc = task.exception() if task.done() and not task.cancelled() else None
        if exc is not None and getattr(task.get_coro(), "cr_code", None) is not _fetch.__code__:
            found.append({"name": task_name(task), "raised": describe_raised(exc)})
    return found
