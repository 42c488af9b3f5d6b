"""Hidden checks for 12_capstone: crawl a fake site the judge chose, watching every fetch and task.

The site is the same shape every time but its page names are random, so a crawl that
does not follow the links it is given finds nothing: cycles (a page links back to the
start), duplicate links (in one page, and across pages fetched at the same time), two
pages slower than the timeout and one page whose fetch raises. The probe records every
fetch on the virtual clock (start, end, and whether it returned, raised or was cancelled)
and every task ``crawl`` started; the judge works out from the site which pages are
reachable, how many fetches were in flight at each moment, and which pages were waiting
for a free worker meanwhile.

Three calls: ``limit=4`` (the crawl the checks judge), ``limit=2`` (bounded: a number
copied from the demo, 3, shows either way), and ``limit=2`` cancelled in the middle of the
crawl, at a moment when fetches are in flight and nothing else happens.
"""

from __future__ import annotations

import collections
import dataclasses
import secrets
import weakref
from typing import Any, NoReturn

import pytest

from grader.checking import (
    Failure,
    Subject,
    check,
    expect_no_blocking,
    require,
    student_failure,
)
from grader.model import SourceRef, Span

# page: (seconds its fetch takes, its links). Slower than TIMEOUT: shop, jobs. help raises. The times are not
# multiples of 0.05 s: a worker that polls the queue with a sleep of 0.1 s starts its pages late, and shows.
TEMPLATE: dict[str, tuple[float, list[str]]] = {
    "home": (0.83, ["about", "blog", "shop", "news", "about", "help"]),  # `about` twice in one page
    "about": (1.07, ["team", "home", "blog"]),  # back to the start: a cycle
    "blog": (1.46, ["post1", "post2", "team"]),  # team: also linked by about
    "shop": (3.71, ["home", "about"]),
    "news": (0.58, ["post1", "post3"]),
    "help": (0.96, ["faq"]),
    "team": (1.12, ["jobs", "about"]),
    "post1": (0.87, ["post2", "blog"]),
    "post2": (0.62, ["post3", "post3"]),
    "post3": (1.03, ["news", "faq"]),
    "jobs": (8.9, ["team", "faq"]),
    "faq": (0.51, ["home"]),
}
BROKEN = {"help"}  # its fetch raises (after its delay)
START = "home"
LIMIT = 4  # the demo uses 3: a copied number shows
NARROW = 2
TIMEOUT = 2.0  # the demo uses 1.0
CANCEL_AT = 2.505  # with limit=2, two fetches are in flight then; fetches start and end on whole hundredths
DEADLINE = 60.0  # virtual seconds: far beyond a crawl with no timeout at all
EPS = 1e-6
SPANS_SHOWN = 30

NEVER_FETCHED_HELP = "Call the `fetch` you are given with `start` first, then with each link it returns: `links = await fetch(url)`."
NEVER_AWAITED_HELP = (
    "fetch(url) returns a coroutine, and nothing is fetched until it is awaited: "
    "`links = await fetch(url)` (inside `async with asyncio.timeout(timeout):`)."
)
TASK_NEVER_RAN_HELP = (
    "A task runs only while crawl awaits something: wait for the work (`await queue.join()`) before cancelling "
    "the workers and returning."
)
TWICE_HELP = (
    "Mark a page as seen the moment you first meet its link, in the same step as the check and before any await: "
    "`if link not in seen: seen.add(link); queue.put_nowait(link)`. A page marked only once fetched (or when "
    "taken off the queue after an await) can be taken by two workers, and a cycle brings it back."
)
MISSING_HELP = (
    "Queue every link of every page fetched (once each: the seen set), and end the crawl only when every page "
    "queued has been fetched (`await queue.join()`, with one task_done() per get()): an empty queue alone does "
    "not mean the end while other workers may still be finding links."
)
START_SEEN_HELP = (
    "The start page is met first, before any link to it: put it in `seen` as you queue it (`seen = {start}`), or a "
    "link back to it queues it once more."
)
EXTRA_HELP = "Fetch only `start` and the links fetch returned, as they are: don't build URLs yourself."
UNBOUNDED_HELP = (
    "Bound the fetches: start exactly `limit` worker tasks that take pages from one queue (or hold an "
    "asyncio.Semaphore(limit) around each fetch). A task per link, with nothing bounding it, runs them all at once."
)
SEMAPHORE_PER_CALL_HELP = (
    "Make the semaphore once, in crawl itself (`sem = asyncio.Semaphore(limit)`), and hold that one around each "
    "fetch: a semaphore made inside the function each page's task runs bounds only that task."
)
HARD_CODED_HELP = (
    "Use the `limit` parameter (`for _ in range(limit)`, or asyncio.Semaphore(limit)): the checks call crawl "
    "with other limits than the demo."
)
IDLE_HELP = (
    "Keep `limit` fetches going while pages wait: `limit` workers (not fewer), each taking its next page with "
    "`await queue.get()` as soon as it is free, with no sleep or polling in between, and no waiting for a whole "
    "batch of pages (gather) before starting the next."
)
NO_TIMEOUT_HELP = (
    "Wrap each fetch in `async with asyncio.timeout(timeout):` (or `await asyncio.wait_for(fetch(url), timeout)`): "
    "both cancel the fetch when its time is up. asyncio.wait(..., timeout=...) only stops waiting, and leaves "
    "the fetch running."
)
TIMEOUT_SCOPE_HELP = (
    "Give each fetch the `timeout` parameter's seconds, from its own start: put `async with asyncio.timeout(timeout):` "
    "right around `await fetch(url)`, after the page has its worker (after queue.get(), inside the semaphore), "
    "not around the wait for a free worker or around the whole crawl."
)
TIMEOUT_CAUGHT_HELP = (
    "Catch the TimeoutError around each fetch (`except TimeoutError:`), note the page in report.timed_out and go "
    "on with the next page: uncaught, it ends the worker (and the crawl)."
)
FETCH_ERROR_HELP = (
    "A fetch may raise: catch `Exception` around it, note the page in report.failed and go on with the next page. "
    "Uncaught, the error ends the worker (and the crawl)."
)
WORKER_DIED_HELP = (
    "Catch what a fetch raises inside the worker's loop (TimeoutError first, then Exception), so the worker goes "
    "on with the next page."
)
RETURNED_EARLY_HELP = (
    "Wait for the work before returning: `await queue.join()` returns once every page queued has been fetched "
    "(one task_done() per get()); only then cancel the workers and return."
)
RETURNED_LATE_HELP = (
    "Return as soon as the last fetch ends: wait for the work itself (`await queue.join()`, or the TaskGroup's end), "
    "never for a fixed time, and don't poll with sleeps."
)
CANCELLED_ITSELF_HELP = (
    "Awaiting a task you cancelled raises CancelledError in the code that awaits it: after cancelling the workers, "
    "gather them with `await asyncio.gather(*workers, return_exceptions=True)`."
)
PARKED_HELP = (
    "After the last page the workers wait in queue.get() for pages that will never come: once `await queue.join()` "
    "returns, cancel every worker and `await asyncio.gather(*workers, return_exceptions=True)` before returning."
)
CANCEL_NOT_AWAITED_HELP = (
    "task.cancel() only asks a task to stop: it is still pending when cancel() returns. Await the cancelled "
    "workers (`await asyncio.gather(*workers, return_exceptions=True)`) before leaving crawl."
)
STILL_RUNNING_HELP = "Await every task you start (or cancel it and await it) before crawl returns: none may outlive crawl."
JOIN_HELP = (
    "queue.join() returns only once task_done() has been called for every page put on the queue: call it once per "
    "get() in a try/finally, also for a page that timed out or failed."
)
STOP_RACE_HELP = (
    "A worker that checks a counter or queue.empty() and then waits in queue.get() can be parked there after the "
    "last page was taken, and nothing wakes it. Let crawl decide the end instead: `await queue.join()`, then cancel "
    "the workers."
)
HANG_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
UNAWAITED_VALUE_HELP = (
    "That value is a coroutine, not its result: put `await` before the call that made it (`url = await queue.get()`)."
)
RETURNED_AT_ONCE_HELP = (
    "crawl returned before its tasks fetched anything: a task runs only while crawl awaits something. Wait for "
    "the work before returning: `await queue.join()` (with the await: without it, join() only makes a coroutine)."
)
UNSTARTED_HELP = (
    "Calling `{name}(...)` only creates a coroutine: it runs once awaited or wrapped in asyncio.create_task(...), "
    "so what it would have done never happened."
)
REPORT_TYPE_HELP = "Return the CrawlReport you filled in: `return report`, with report = CrawlReport() made at the start."
PAGES_HELP = (
    "Store each page fetched with the list fetch returned, as it is: `report.pages[url] = links`, right after the fetch; "
    "a page that timed out or failed goes only in timed_out or failed."
)
LINKS_AS_IS_HELP = "Store the list fetch returned as it is: `report.pages[url] = links`, not sorted, not a set, duplicates kept."
TIMED_OUT_AS_FAILED_HELP = (
    "TimeoutError is an Exception too: catch it in its own `except TimeoutError:` placed before `except Exception:`, "
    "and note the page in report.timed_out."
)
OUTCOMES_HELP = (
    "Note a page whose fetch timed out in report.timed_out and one whose fetch raised in report.failed, "
    "each once (they are sets)."
)
SWALLOWED_HELP = (
    "Don't catch CancelledError and go on: a bare `except:` or `except BaseException:` around the fetch catches "
    "it, so the worker carries on when it is cancelled. Catch `except Exception:` (CancelledError is not one), "
    "or re-raise it."
)
RERAISE_HELP = (
    "Let the CancelledError go on: do the clean-up in a `finally:` block (or `except asyncio.CancelledError:` "
    "followed by `raise`), and never return a report from it. Whoever cancelled crawl (asyncio.run, on Ctrl-C) "
    "relies on it ending cancelled."
)
PROMPT_HELP = (
    "When crawl is cancelled, stop at once: cancel the workers (the fetches in flight with them) and await them; "
    "don't wait for the queue to empty or for the fetches to end."
)
FETCH_TASK_HELP = (
    "A task made for a fetch goes on by itself when its worker stops waiting for it: await the fetch in the "
    "worker itself, under `async with asyncio.timeout(timeout):`, so that the timeout, or cancelling the worker, "
    "cancels the fetch too."
)
GATHER_EARLY_HELP = (
    "gather() without return_exceptions=True raises the first CancelledError of its tasks while the others are "
    "still ending: wait for every task you started to end before crawl does (a TaskGroup does that for you, or "
    "gather them with return_exceptions=True)."
)
CLEANUP_HELP = (
    "Cancel and await the workers in a `finally:` block around `await queue.join()` (or use a TaskGroup): a "
    "cancellation raises CancelledError at that await, so clean-up written after it never runs."
)

DOING = {
    "queue.get()": "waiting in queue.get()",
    "queue.join()": "waiting in queue.join()",
    "queue.put()": "waiting in queue.put()",
    "fetch()": "fetching",
    "semaphore": "waiting for the semaphore",
    "taskgroup": "waiting for its TaskGroup",
    "asyncio.sleep()": "sleeping",
    "task": "waiting for another task",
}

CRAWL_WAITS = {
    "queue.join()": "in queue.join()",
    "queue.get()": "in queue.get()",
    "queue.put()": "in queue.put()",
    "fetch()": "in a fetch",
    "semaphore": "for the semaphore",
    "taskgroup": "for its TaskGroup's tasks",
    "asyncio.sleep()": "in asyncio.sleep()",
    "task": "for another task (gather, or a task it awaits)",
}


@dataclasses.dataclass(frozen=True)
class Page:
    delay: float
    links: list[str]
    fails: bool

    @property
    def slow(self) -> bool:
        return self.delay > TIMEOUT

    @property
    def ok(self) -> bool:
        return not self.slow and not self.fails


class Site:
    """The template with random page names: what the student cannot guess."""

    def __init__(self) -> None:
        self.names = {name: f"/{name}-{secrets.token_hex(3)}" for name in TEMPLATE}
        self.start = self.names[START]
        self.pages = {
            self.names[name]: Page(delay, [self.names[link] for link in links], name in BROKEN)
            for name, (delay, links) in TEMPLATE.items()
        }
        self.reachable = self.walk()

    def walk(self) -> list[str]:
        """The pages reachable from the start through the links of pages fetched successfully, in BFS order."""
        order, queue = [self.start], collections.deque([self.start])
        while queue:
            page = self.pages[queue.popleft()]
            for link in page.links if page.ok else []:
                if link not in order:
                    order.append(link)
                    queue.append(link)
        return order

    def wire(self) -> dict[str, list[Any]]:
        return {url: [page.delay, page.links, page.fails] for url, page in self.pages.items()}

    def expected_pages(self) -> dict[str, list[str]]:
        return {url: self.pages[url].links for url in self.reachable if self.pages[url].ok}

    def expected(self, kind: str) -> list[str]:
        return sorted(url for url in self.reachable if (self.pages[url].slow if kind == "timed_out" else self.pages[url].fails))


@dataclasses.dataclass(frozen=True)
class Fetch:
    url: str
    start: float
    end: float | None
    outcome: str  # ok, raised, cancelled, closed, running
    known: bool
    source: SourceRef | None
    not_a_url: bool = False  # fetch was handed something else than a string: its repr is `url`

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fetch:
        where = SourceRef.from_json(data["source"]) if data.get("source") else None
        end = None if data.get("end") is None else float(data["end"])
        return cls(
            str(data["url"]), float(data["start"]), end, str(data["outcome"]), bool(data["known"]), where,
            bool(data.get("not_a_url")),
        )  # fmt: skip

    def span(self, until: float) -> Span:
        return Span(self.url, self.start, self.end if self.end is not None else max(until, self.start))

    def in_flight(self, moment: float) -> bool:
        return self.start <= moment and (self.end is None or self.end > moment)

    def took(self) -> float:
        return round((self.end if self.end is not None else self.start) - self.start, 6)


class Run:
    """One call of crawl in the subject, as the probe saw it."""

    def __init__(self, exercise: Subject, limit: int, cancel_at: float | None = None) -> None:
        require(exercise, "crawl", "coroutine function")
        self.site, self.limit, self.file_name = Site(), limit, exercise.file_name
        found = exercise.call(
            "crawl", site=self.site.wire(), start=self.site.start, limit=limit, timeout=TIMEOUT,
            cancel_at=cancel_at, deadline=DEADLINE,
        )  # fmt: skip
        self.blocking = exercise.blocking
        self.outcome: str = found["outcome"]
        self.ended_at: float | None = found["ended_at"]
        self.report: dict[str, Any] | None = found["report"]
        self.raised: dict[str, Any] | None = found["raised"]
        self.left_running: list[dict[str, Any]] = found["left_running"]
        self.started_tasks = int(found["started_tasks"])
        # On a hang, the fetches as they were at the deadline: the probe's own clean-up cancelled the rest.
        records = (found.get("at_end") or {}).get("fetches") if found["hang"] else found["fetches"]
        self.records = [Fetch.from_json(f) for f in records or found["fetches"]]  # in the order they started
        self.fetches = sorted(self.records, key=lambda f: f.start)
        before = found.get("started_before_cancel")
        self.after_cancel = self.records[before:] if before is not None else []
        self.never_awaited: list[dict[str, Any]] = found["never_awaited"]
        self.crashed: list[dict[str, Any]] = found["crashed"]
        self.hang: dict[str, Any] | None = found["hang"]
        self.cancelled_at: float | None = found["cancelled_at"]
        self.cancel_site = SourceRef.from_json(found["cancel_site"]) if found.get("cancel_site") else None
        self.task_sites = [SourceRef.from_json(entry["source"]) for entry in found["task_sites"]]
        # Semaphores made in functions nested in crawl: one per call of them, not one for the crawl.
        self.semaphores_per_call = [SourceRef.from_json(where) for where in found.get("semaphores_per_call") or []]
        self.tampered = bool(found["clock_went_backwards"])
        self.counts = collections.Counter(f.url for f in self.fetches)

    def until(self) -> float:
        ends = [f.end for f in self.fetches if f.end is not None]
        return max([*ends, self.ended_at or 0.0, *(f.start for f in self.fetches)])

    def spans(self) -> list[Span]:
        """The fetches as a timeline, the first SPANS_SHOWN of them: a crawl that never stops has hundreds."""
        return [f.span(self.until()) for f in self.fetches[:SPANS_SHOWN]]

    def fetch_site(self) -> SourceRef | None:
        return next((f.source for f in self.fetches if f.source), None)

    def moments(self) -> list[float]:
        return sorted({f.start for f in self.fetches} | {f.end for f in self.fetches if f.end is not None})

    def in_flight(self, moment: float) -> list[Fetch]:
        return [f for f in self.fetches if f.in_flight(moment)]

    def most_in_flight(self) -> tuple[int, float]:
        """The most fetches in flight at once, and the first moment it happened."""
        best = (0, 0.0)
        for moment in self.moments():
            count = len(self.in_flight(moment))
            if count > best[0]:
                best = (count, moment)
        return best


_RUNS: weakref.WeakKeyDictionary[Subject, dict[tuple[int, float | None], Run | Exception]] = weakref.WeakKeyDictionary()


def run_of(exercise: Subject, limit: int, cancel_at: float | None = None) -> Run:
    """The crawl with these settings, made once per submission and shared by the checks that judge it: each
    call turns the loop a few hundred times on virtual time, and three calls hold every fact the checks need."""
    runs = _RUNS.setdefault(exercise, {})
    key = (limit, cancel_at)
    if key not in runs:
        try:
            runs[key] = Run(exercise, limit, cancel_at)
        except Exception as exc:  # noqa: BLE001 - the same failure for every check of this run, without a new call
            runs[key] = exc
    found = runs[key]
    if isinstance(found, Exception):
        raise found
    return found


def cannot_judge(reason: str) -> NoReturn:
    """Skip a check whose subject is missing: it scores nothing, and another check names the mistake."""
    pytest.skip(f"skipped: {reason}")


def pages(urls: list[str]) -> str:
    """``page '/a'`` or ``pages '/a' and '/b'``."""
    shown = [repr(url) for url in urls[:3]] + ([f"{len(urls) - 3} more"] if len(urls) > 3 else [])
    return f"page {shown[0]}" if len(shown) == 1 else f"pages {', '.join(shown[:-1])} and {shown[-1]}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith(('ch', 's')) else 's'}"


def tasks_text(tasks: list[dict[str, Any]]) -> str:
    """``3 × worker (waiting in queue.get())``: pending tasks, grouped."""
    groups = collections.Counter((t["name"], doing(t)) for t in tasks)
    return ", ".join(f"{count} × {name} ({what})" for (name, what), count in groups.items())


def doing(task: dict[str, Any]) -> str:
    where = DOING.get(task["waiting_in"], "waiting")
    if task["state"] == "cancel_pending" and task["waiting_in"] in ("task", "taskgroup"):
        return "cancelled, still waiting for the tasks it awaits to end"
    if task["state"] == "cancel_pending":
        return "cancelled, but not ended yet: nobody awaited it"
    if task["state"] == "swallowed":
        return f"{where}, although it was cancelled"
    return where


def first_source(tasks: list[dict[str, Any]]) -> SourceRef | None:
    return next((SourceRef.from_json(t["source"]) for t in tasks if t.get("source")), None)


def tampered(run: Run) -> Failure | None:
    if run.tampered:
        return Failure(
            "the event loop's clock went backwards while the pages were fetched: the records cannot be trusted",
            "Don't touch the event loop's clock: time on the loop only moves forward.",
        )
    return None


def never_awaited(run: Run) -> Failure | None:
    """A fetch called but never awaited (or wrapped in a task that never ran): the root of what followed."""
    if not run.never_awaited:
        return None
    first = run.never_awaited[0]
    where = SourceRef.from_json(first["source"]) if first.get("source") else None
    if first.get("task"):
        at = f"line {where.line} starts" if where else "your code started"
        return Failure(f"{at} {first['call']} as a task, but that task never ran", TASK_NEVER_RAN_HELP, source=where)
    at = f"line {where.line} calls" if where else "your code called"
    return Failure(f"{at} {first['call']} but never awaits the coroutine it returns", NEVER_AWAITED_HELP, source=where)


def not_a_url(run: Run) -> Failure | None:
    """fetch handed something else than a URL: a coroutine (an await forgotten), a tuple, ..."""
    odd = next((f for f in run.fetches if f.not_a_url), None)
    if odd is None:
        return None
    coroutine = odd.url.startswith("<coroutine object")
    return Failure(
        f"fetch was called with {odd.url}, not with a URL",
        UNAWAITED_VALUE_HELP if coroutine else EXTRA_HELP,
        source=odd.source,
    )


def sane(run: Run) -> Failure | None:
    """What makes every other judgement moot: a clock turned back, a fetch never awaited, fetch handed a non-URL."""
    return tampered(run) or never_awaited(run) or not_a_url(run)


def root_exception(raised: dict[str, Any]) -> dict[str, Any]:
    """An exception group's first member (what a TaskGroup wraps), else the exception itself."""
    inner = raised.get("inner") or []
    return root_exception(inner[0]) if inner else raised


def exception_failure(raised: dict[str, Any], who: str, when: str, file_name: str) -> Exception:
    """The failure for an exception that ended ``who`` (crawl, or a task it started): a fetch's, or the student's own."""
    error = root_exception(raised)
    where = SourceRef.from_json(error["source"]) if error.get("source") else None
    if error["type"] == "TimeoutError":
        return Failure(f"{who} ended with TimeoutError{when}: a fetch's timeout was not caught", TIMEOUT_CAUGHT_HELP, source=where)
    if error["type"] == "ServerError":
        return Failure(
            f"{who} ended with the error a page's fetch raised{when} ({error['message']}): it was not caught",
            FETCH_ERROR_HELP,
            source=where,
        )
    return student_failure(error, file_name)


def raised_failure(run: Run) -> Exception | None:
    """crawl raised an exception: the root of what followed."""
    error = root_exception(run.raised) if run.outcome == "raised" and run.raised else {}
    if error.get("type") == "TimeoutError" and abs((run.ended_at or 0.0) - TIMEOUT) < EPS:
        # `timeout` s after crawl began: one timeout for everything
        return Failure(
            f"crawl() ended with TimeoutError at t={run.ended_at:g} s, timeout={TIMEOUT:g} s after it began: "
            "the timeout was around the whole crawl, not around each fetch",
            TIMEOUT_SCOPE_HELP,
            timeline=run.spans(),
            source=SourceRef.from_json(error["source"]) if error.get("source") else None,
        )
    if run.outcome == "raised" and run.raised:
        return exception_failure(run.raised, "crawl()", f" at t={run.ended_at:g} s", run.file_name)
    return None


def crash_failure(run: Run) -> Exception | None:
    """A task crawl started died of an exception: the worker is gone, and what it would have done with it."""
    if not run.crashed:
        return None
    dead = run.crashed[0]
    failure = exception_failure(dead["raised"], f"a {dead['name']} task", "", run.file_name)
    if isinstance(failure, Failure) and failure.help in (TIMEOUT_CAUGHT_HELP, FETCH_ERROR_HELP):
        failure.help = WORKER_DIED_HELP
    return failure


def hang_failure(run: Run) -> Failure:
    """Why crawl never ended: what it, and the tasks it started, wait in."""
    hang = run.hang or {}
    pending = list(hang.get("pending") or [])
    fetched = [url for url in run.site.reachable if run.counts[url]]
    n = len(run.site.reachable)
    first_ends = [min(f.end if f.end is not None else f.start for f in run.fetches if f.url == url) for url in fetched]
    progress = (
        f"all {n} reachable pages were fetched by t={max(first_ends):g} s"
        if len(fetched) == n
        else f"{len(fetched)} of the {n} reachable pages were fetched"
    )
    again = max(run.counts.values(), default=0)
    if again > 1:
        busiest = max(run.counts, key=run.counts.__getitem__)
        progress += f", and pages keep coming back: {busiest!r} was fetched {again} times"
    waiting = str(hang.get("waiting_in") or "task")
    what = f"it waits {CRAWL_WAITS.get(waiting, 'for something')}"
    if pending:
        what += f", and {plural(len(pending), 'task')} it started {'are' if len(pending) > 1 else 'is'} still pending: {tasks_text(pending)}"
    unstarted = [str(name) for name in hang.get("never_started") or []]
    where = SourceRef.from_json(hang["waiting_at"]) if hang.get("waiting_at") else first_source(pending)
    if run.cancelled_at is not None:
        opening = f"crawl() was cancelled at t={run.cancelled_at:g} s and had still not ended at t={hang.get('seconds', DEADLINE):g} s"
    else:
        opening = f"crawl() had not returned after {hang.get('seconds', DEADLINE):g} s of event-loop time: {progress}"
    if unstarted:
        return Failure(f"{opening}, and coroutine {unstarted[0]}() was never awaited", UNSTARTED_HELP.format(name=unstarted[0]), source=where)
    if any(t["state"] == "swallowed" for t in pending):
        help = SWALLOWED_HELP
    elif again > 1 and run.cancelled_at is None:
        help = TWICE_HELP
    elif waiting == "queue.join()":
        help = JOIN_HELP
    elif run.cancelled_at is None and pending and all(t["waiting_in"] == "queue.get()" for t in pending):
        help = STOP_RACE_HELP if len(fetched) == n else MISSING_HELP
    else:
        help = HANG_HELP
    return Failure(f"{opening}; {what}", help, timeline=run.spans(), source=where)


def ended_failure(run: Run) -> Exception | None:
    """crawl did not return normally in an uncancelled run: why, in the student's terms."""
    if run.outcome == "hang":
        return never_awaited(run) or crash_failure(run) or hang_failure(run)
    if run.outcome == "raised":
        return raised_failure(run)
    if run.outcome == "cancelled":
        return Failure(
            f"crawl() raised CancelledError at t={run.ended_at:g} s, though nobody cancelled it",
            CANCELLED_ITSELF_HELP,
            timeline=run.spans(),
        )
    return None


def no_fetch_failure(run: Run) -> Exception:
    """Why no page was fetched at all."""
    cause = raised_failure(run) or crash_failure(run) or (hang_failure(run) if run.outcome == "hang" else None)
    if cause is not None:
        return cause
    if run.started_tasks and run.outcome == "returned":
        return Failure(
            f"crawl() returned at t={run.ended_at or 0:g} s before any of the {plural(run.started_tasks, 'task')} it "
            "started had fetched a page",
            RETURNED_AT_ONCE_HELP,
        )
    return Failure(f"fetch was never called: crawl() {run.outcome} at t={run.ended_at or 0:g} s", NEVER_FETCHED_HELP)


def each_once_failure(run: Run) -> Exception | None:
    """Why the reachable pages were not each fetched exactly once; None when they were."""
    site, counts = run.site, run.counts
    missing = [url for url in site.reachable if not counts[url]]
    twice = [url for url in site.reachable if counts[url] > 1]
    extra = [url for url in counts if url not in site.reachable]
    if not (missing or twice or extra):
        return None
    sanity = sane(run)
    if sanity is not None:
        return sanity
    if not run.fetches:
        return no_fetch_failure(run)
    if twice:
        url = twice[0]
        times = [f for f in run.fetches if f.url == url]
        shown = ", ".join(f"t={f.start:g}→{'…' if f.end is None else format(f.end, 'g')} s" for f in times[:3])
        others = f" ({plural(len(twice) - 1, 'other page')} too)" if len(twice) > 1 else ""
        listing = next((f.url for f in run.fetches if f.known and site.pages[f.url].links.count(url) > 1), None)
        listed = f"; {listing!r} lists it twice" if listing else ""
        start = url == site.start and twice == [url]  # only the start page: a link back to it found it not seen
        return Failure(
            f"page {url!r} was fetched {len(times)} times ({shown}){others}{listed}; each page should be fetched once"
            + ("; it is the start page, found again through a link back to it" if start else ""),
            START_SEEN_HELP if start else TWICE_HELP,
            timeline=run.spans(),
            source=times[1].source,
        )
    if extra:
        return Failure(f"crawl() fetched {pages(extra)}, which no page fetched links to", EXTRA_HELP, source=run.fetch_site())
    cause = raised_failure(run) or crash_failure(run) or (hang_failure(run) if run.outcome == "hang" else None)
    if cause is not None:
        return cause
    cut = cut_short_failure(run)  # a page whose fetch was cut short never gave its links
    if cut is not None:
        return cut
    timed_out = (run.report or {}).get("timed_out")
    unfetched = [url for url in missing if isinstance(timed_out, list) and url in timed_out]
    if unfetched:
        url = unfetched[0]
        return Failure(
            f"page {url!r} was never fetched, yet it is in report.timed_out: its timeout ran out (found at "
            f"t={found_at(run, url):g} s) before its fetch could start",
            TIMEOUT_SCOPE_HELP,
            timeline=run.spans(),
        )
    linked = [f for f in run.fetches if f.outcome == "ok" and f.known and set(missing) & set(site.pages[f.url].links)]
    by = f", linked from {linked[0].url!r} (fetched t={linked[0].start:g}→{linked[0].end:g} s)" if linked else ""
    return Failure(
        f"{plural(len(missing), 'reachable page')} {'was' if len(missing) == 1 else 'were'} never fetched: "
        f"{pages(missing)}{by}",
        MISSING_HELP,
        timeline=run.spans(),
    )


def found_at(run: Run, url: str) -> float:
    """When the crawl learnt of ``url``: the end of the first successful fetch that returned it (0 for the start)."""
    if url == run.site.start:
        return 0.0
    ends = [f.end for f in run.fetches if f.outcome == "ok" and f.known and f.end is not None and url in run.site.pages[f.url].links]
    return min(ends, default=0.0)


def busy_failure(run: Run) -> Failure | None:
    """The first moment a worker slot was free while a page found earlier waited for one."""
    site, eventually = run.site, {f.url for f in run.fetches}
    most, _ = run.most_in_flight()
    for moment in run.moments():
        found = {site.start} | {
            link for f in run.fetches if f.outcome == "ok" and f.known and f.end is not None and f.end <= moment
            for link in site.pages[f.url].links
        }  # fmt: skip
        started = {f.url for f in run.fetches if f.start <= moment}
        waiting = sorted((found - started) & eventually, key=lambda url: min(f.start for f in run.fetches if f.url == url))
        flying = len(run.in_flight(moment))
        if waiting and flying < run.limit:
            first = waiting[0]
            began = min(f.start for f in run.fetches if f.url == first)
            if most < run.limit:
                return Failure(
                    f"with limit={run.limit}, never more than {plural(most, 'fetch')} {'was' if most == 1 else 'were'} "
                    f"in flight at once, though at t={moment:g} s {plural(len(waiting), 'page')} waited for one",
                    HARD_CODED_HELP if most > 1 else IDLE_HELP,
                    timeline=run.spans(),
                    source=run.task_sites[0] if run.task_sites else run.fetch_site(),
                )
            return Failure(
                f"at t={moment:g} s only {plural(flying, 'fetch')} {'was' if flying == 1 else 'were'} in flight "
                f"(limit={run.limit}) while {pages(waiting)} waited: {first!r} started only at t={began:g} s",
                IDLE_HELP,
                timeline=run.spans(),
                source=run.fetch_site(),
            )
    return None


def bounded_failure(run: Run, other: Run) -> Failure | None:
    """More than `limit` fetches in flight at some moment."""
    most, moment = run.most_in_flight()
    if most <= run.limit:
        return None
    flying = [f.url for f in run.in_flight(moment)]
    late = [f for f in run.in_flight(moment) if overdue(f, moment)]
    if late:
        return Failure(
            f"with limit={run.limit}, {most} fetches were in flight at once at t={moment:g} s: {pages(flying)}; "
            f"{late[0].url!r} had run for {moment - late[0].start:g} s, its whole timeout={TIMEOUT:g} s, and was "
            "not cancelled: its worker had gone on to another page",
            NO_TIMEOUT_HELP,
            timeline=run.spans(),
            source=late[0].source,
        )
    if run.semaphores_per_call:
        made = run.semaphores_per_call[0]
        return Failure(
            f"with limit={run.limit}, {most} fetches were in flight at once at t={moment:g} s: {pages(flying)}; the "
            f"semaphore at line {made.line} is made anew each time its function runs, so every fetch had one of its own",
            SEMAPHORE_PER_CALL_HELP,
            timeline=run.spans(),
            source=made,
        )
    other_most = other.most_in_flight()[0]
    same = most == other_most and other_most <= other.limit  # the same number whatever the limit: a number of its own
    return Failure(
        f"with limit={run.limit}, {most} fetches were in flight at once at t={moment:g} s: {pages(flying)}",
        HARD_CODED_HELP if same else UNBOUNDED_HELP,
        timeline=run.spans(),
        source=run.task_sites[0] if run.task_sites else run.fetch_site(),
    )


def cut_short(run: Run, f: Fetch) -> bool:
    """A fetch cancelled other than `timeout` s after its start, and not by the end of crawl itself."""
    page = run.site.pages.get(f.url)
    if page is None or f.outcome != "cancelled" or (f.end == run.ended_at and abs(f.took() - TIMEOUT) > EPS):
        return False
    return abs(f.took() - TIMEOUT) > EPS if page.slow else True


def cut_short_failure(run: Run) -> Exception | None:
    first = next((f for f in run.fetches if cut_short(run, f)), None)
    return timeout_failure(run, only=first) if first is not None else None


def overdue(f: Fetch, moment: float) -> bool:
    """A fetch still running at ``moment``, `timeout` s or more after it started: nothing cut it off."""
    return f.in_flight(moment) and moment - f.start >= TIMEOUT - EPS


def timeout_failure(run: Run, only: Fetch | None = None) -> Exception | None:
    """A fetch not cut off at `timeout` s after its start, or cut off when it should not have been."""
    cause = sane(run)
    if cause is not None:
        return cause
    died = raised_failure(run)
    if died is not None and isinstance(died, Failure) and died.help in (TIMEOUT_CAUGHT_HELP, FETCH_ERROR_HELP, TIMEOUT_SCOPE_HELP):
        return died
    for f in [only] if only is not None else run.fetches:
        page = run.site.pages.get(f.url)
        if page is None or f.outcome == "closed":
            continue
        if f.outcome == "cancelled" and f.end == run.ended_at and abs(f.took() - TIMEOUT) > EPS:
            continue  # cut off when crawl ended: the check of when it returns judges that
        ran = f"t={f.start:g}→{'…' if f.end is None else format(f.end, 'g')} s"
        if run.limit != LIMIT:
            ran += f", with limit={run.limit}"
        if f.outcome == "running" and not overdue(f, run.until()):
            continue  # still within its time when the records were taken
        if page.slow and f.outcome in ("ok", "raised", "running"):
            full = "ran for its full" if f.outcome != "running" else "was never cut off: it was still running after"
            return Failure(
                f"the fetch of {f.url!r} {full} {f.took() if f.end is not None else page.delay:g} s ({ran}): "
                f"nothing cancelled it after timeout={TIMEOUT:g} s",
                NO_TIMEOUT_HELP,
                timeline=run.spans(),
                source=f.source,
            )
        if cut_short(run, f):
            found = found_at(run, f.url)
            counted = (
                f": that is {TIMEOUT:g} s after the page was found (t={found:g} s), so the timeout counted its wait "
                "for a free worker"
                if f.end is not None and abs(f.end - found - TIMEOUT) < EPS and f.start > found + EPS
                else ""
            )
            return Failure(
                f"the fetch of {f.url!r} (it takes {page.delay:g} s) was cancelled {f.took():g} s after it started "
                f"({ran}), though timeout={TIMEOUT:g} s{counted}",
                TIMEOUT_SCOPE_HELP,
                timeline=run.spans(),
                source=f.source,
            )
    return None


def report_failure(run: Run) -> Exception | None:
    """What crawl returned, against what the site holds."""
    report, site = run.report or {}, run.site
    if "other" in report:
        other = report["other"]
        shown = str(other["repr"] if isinstance(other, dict) and set(other) == {"repr"} else repr(other))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return Failure(f"crawl() returned a {report.get('type', 'value')}, not a CrawlReport: {shown}", REPORT_TYPE_HELP)
    got = report.get("pages")
    if not isinstance(got, dict) or set(got) == {"repr"}:
        return Failure(f"report.pages is {got!r}, not a dict of pages and their links", PAGES_HELP)
    expected = site.expected_pages()
    cause = each_once_failure(run)
    missing = [url for url in expected if url not in got]
    if missing:
        if cause is not None and any(not run.counts[url] for url in missing):
            return cause
        return Failure(
            f"report.pages lacks {pages(missing)}, fetched successfully; it lists {plural(len(got), 'page')} "
            f"of the {len(expected)} fetched",
            PAGES_HELP,
        )
    extra = [url for url in got if url not in expected]
    if extra:
        url = extra[0]
        page = site.pages.get(url)
        how = "timed out" if page and page.slow else "raised" if page and page.fails else "was not fetched"
        if page and page.slow and run.counts[url] and any(f.url == url and f.outcome == "ok" for f in run.fetches):
            return Failure(f"report.pages lists {url!r}, whose fetch ran its full {page.delay:g} s: it was never timed out", NO_TIMEOUT_HELP)
        return Failure(f"report.pages lists {url!r}, whose fetch {how}: it belongs only in timed_out or failed", PAGES_HELP)
    for url, links in expected.items():
        if got[url] != links:
            shown = got[url]
            if isinstance(shown, list) and sorted(map(str, shown)) == sorted(links):
                what = "in another order"
            elif isinstance(shown, list) and set(map(str, shown)) == set(links):
                what = "without its duplicate links"
            else:
                what = "as something else"
            return Failure(
                f"report.pages[{url!r}] holds {str(shown)[:120]}: fetch returned {links}, which the report holds {what}",
                LINKS_AS_IS_HELP,
            )
    for kind in ("timed_out", "failed"):
        want, have = site.expected(kind), report.get(kind)
        if have == want:
            continue
        died = crash_failure(run)
        if died is not None:
            return died
        if not isinstance(have, list):
            return Failure(f"report.{kind} is {have!r}, not a set of pages", OUTCOMES_HELP)
        slow = site.expected("timed_out")
        if kind == "timed_out" and not set(slow) & set(have) and set(slow) <= set(report.get("failed") or []):
            return Failure(
                f"report.timed_out is empty, and {pages(slow)}, whose fetch timed out, "
                f"{'is' if len(slow) == 1 else 'are'} in report.failed",
                TIMED_OUT_AS_FAILED_HELP,
            )
        if kind == "timed_out" and not have and any(f.outcome == "ok" and site.pages[f.url].slow for f in run.fetches if f.url in site.pages):
            return Failure("report.timed_out is empty: no fetch was ever timed out", NO_TIMEOUT_HELP)
        return Failure(f"report.{kind} is {have}; expected {want}", OUTCOMES_HELP)
    return None


def left_running_failure(run: Run, when: str) -> Failure | None:
    left = run.left_running
    if not left:
        return None
    states = {t["state"] for t in left}
    source = first_source(left)
    if any(t["name"] == "fetch" and t["state"] == "running" for t in left):
        help = FETCH_TASK_HELP
    elif "swallowed" in states:
        help = SWALLOWED_HELP
    elif "cancel_pending" in states and all(t["waiting_in"] in ("task", "taskgroup") for t in left):
        help = GATHER_EARLY_HELP
    elif "cancel_pending" in states:
        help = CANCEL_NOT_AWAITED_HELP
    elif run.cancelled_at is not None:
        help, source = CLEANUP_HELP, run.cancel_site or source
    elif all(t["waiting_in"] == "queue.get()" for t in left):
        help = PARKED_HELP
    else:
        help = STILL_RUNNING_HELP
    return Failure(
        f"when {when} (t={run.ended_at:g} s), {plural(len(left), 'task')} it had started "
        f"{'were' if len(left) > 1 else 'was'} still pending: {tasks_text(left)}",
        help,
        source=source,
    )


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "crawl", "coroutine function")


@check("each_once")
def check_each_once(exercise: Subject) -> None:
    failure = each_once_failure(run_of(exercise, LIMIT))
    if failure is not None:
        raise failure


@check("report")
def check_report(exercise: Subject) -> None:
    run = run_of(exercise, LIMIT)
    if run.outcome == "hang":
        cannot_judge("crawl() never returned (the check of when it returns says why)")
    failure = sane(run) or ended_failure(run) or report_failure(run)
    if failure is not None:
        raise failure


@check("bounded")
def check_bounded(exercise: Subject) -> None:
    wide, narrow = run_of(exercise, LIMIT), run_of(exercise, NARROW)
    for run, other in ((narrow, wide), (wide, narrow)):
        cause = sane(run)
        if cause is not None:
            raise cause
        failure = bounded_failure(run, other)
        if failure is not None:
            raise failure
    if not wide.fetches:
        raise no_fetch_failure(wide)


@check("busy")
def check_busy(exercise: Subject) -> None:
    run = run_of(exercise, LIMIT)
    cause = sane(run)
    if cause is not None:
        raise cause
    if not run.fetches:
        raise no_fetch_failure(run)
    if len(run.fetches) < 2:
        raise each_once_failure(run) or Failure("only one page was fetched", MISSING_HELP)
    expect_no_blocking(run.blocking)
    failure = busy_failure(run)
    if failure is not None:
        raise crash_failure(run) or failure


@check("timeouts")
def check_timeouts(exercise: Subject) -> None:
    # With limit=2 pages wait longer for a free worker: a timeout that counts the wait shows there.
    for limit in (LIMIT, NARROW):
        run = run_of(exercise, limit)
        failure = timeout_failure(run)
        if failure is not None:
            raise failure
        slow = [url for url in run.site.reachable if run.site.pages[url].slow]
        if not any(run.counts[url] for url in slow):
            raise each_once_failure(run) or Failure("no page slower than the timeout was fetched", MISSING_HELP)


@check("finishes")
def check_finishes(exercise: Subject) -> None:
    run = run_of(exercise, LIMIT)
    failure = sane(run) or ended_failure(run)
    if failure is not None:
        raise failure
    if not run.fetches:
        raise no_fetch_failure(run)
    expect_no_blocking(run.blocking)
    returned = run.ended_at or 0.0
    later = [f for f in run.fetches if f.end is None or f.end > returned + EPS]
    cut = [f for f in run.fetches if f.outcome == "cancelled" and f.end == returned and abs(f.took() - TIMEOUT) > EPS]
    if later or cut:
        first = (later or cut)[0]
        if overdue(first, returned):
            raise Failure(
                f"crawl() returned at t={returned:g} s while the fetch of {first.url!r} was still running, "
                f"{returned - first.start:g} s after it started (timeout={TIMEOUT:g} s): nothing cancelled it",
                NO_TIMEOUT_HELP,
                timeline=run.spans(),
                source=first.source,
            )
        what = (
            f"while the fetch of {first.url!r} was still in flight"
            if first.start <= returned + EPS
            else f"before fetching {first.url!r} (its tasks went on without it, from t={first.start:g} s)"
        )
        raise Failure(f"crawl() returned at t={returned:g} s, {what}", RETURNED_EARLY_HELP, timeline=run.spans(), source=first.source)
    last = max(f.end for f in run.fetches if f.end is not None)
    if returned > last + EPS:
        raise Failure(
            f"crawl() returned at t={returned:g} s, {returned - last:g} s after the last fetch ended (t={last:g} s)",
            RETURNED_LATE_HELP,
            timeline=run.spans(),
        )
    failure = left_running_failure(run, "crawl() returned")
    if failure is not None:
        raise failure


def cancelled_run(exercise: Subject) -> Run:
    run = run_of(exercise, NARROW, CANCEL_AT)
    if run.cancelled_at is None:
        cannot_judge(f"crawl() had ended ({run.outcome}) before the check cancelled it at t={CANCEL_AT:g} s")
    return run


@check("cancel_propagates")
def check_cancel_propagates(exercise: Subject) -> None:
    run = cancelled_run(exercise)
    at = run.cancelled_at
    if run.outcome == "hang":
        raise never_awaited(run) or hang_failure(run)
    if run.outcome == "returned":
        raise Failure(
            f"crawl() was cancelled at t={at:g} s, but returned normally at t={run.ended_at:g} s instead of raising "
            "CancelledError: the cancellation was swallowed",
            RERAISE_HELP,
            source=run.cancel_site,
        )
    if run.outcome == "raised":
        error = root_exception(run.raised or {})
        raise Failure(
            f"crawl() was cancelled at t={at:g} s, but raised {error.get('type', 'an exception')} instead of "
            "CancelledError",
            RERAISE_HELP,
            source=SourceRef.from_json(error["source"]) if error.get("source") else run.cancel_site,
        )
    if (run.ended_at or 0.0) > (at or 0.0) + EPS:
        raise Failure(
            f"crawl() was cancelled at t={at:g} s, but its CancelledError came out only at t={run.ended_at:g} s",
            PROMPT_HELP,
            timeline=run.spans(),
            source=run.cancel_site,
        )


@check("cancel_cleanup")
def check_cancel_cleanup(exercise: Subject) -> None:
    run = cancelled_run(exercise)
    at = run.cancelled_at or 0.0
    if run.outcome == "hang":
        raise never_awaited(run) or hang_failure(run)
    failure = left_running_failure(run, "crawl() ended")
    if failure is not None:
        raise failure
    ended = run.ended_at or at
    if run.after_cancel:
        f = run.after_cancel[0]
        raise Failure(
            f"a fetch of {f.url!r} started at t={f.start:g} s, after crawl() was cancelled at t={at:g} s",
            SWALLOWED_HELP if any(t["state"] == "swallowed" for t in run.left_running) else CLEANUP_HELP,
            timeline=run.spans(),
            source=f.source,
        )
    for f in run.fetches:
        if f.in_flight(at) and (f.outcome != "cancelled" or (f.end or 0.0) > ended + EPS):
            end = "it was still running" if f.end is None else f"it ran on to t={f.end:g} s ({f.outcome})"
            raise Failure(
                f"the fetch of {f.url!r}, in flight when crawl() was cancelled at t={at:g} s, was not cancelled: {end}",
                PROMPT_HELP,
                timeline=run.spans(),
                source=f.source,
            )
