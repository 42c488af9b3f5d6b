"""Hidden checks for 08_limits: how many jobs were in flight at every moment, on the virtual clock.

The recording worker notes when each job started and ended; from that the judge counts
the jobs in flight at every moment and compares with the limit: never more, and exactly
the limit while some job has not started yet (a job starts the moment another ends). Two
runs of ``run_limited``: 8 equal jobs, 3 at a time (ceil(8/3) rounds: 4.5 s), and 6 jobs of
different lengths, 2 at a time, where waiting for a whole batch leaves slots idle. The
jobs are given in an order that is neither sorted nor the order they finish in, and each
returns a value its name cannot predict.

``fetch_all`` gets a fetch whose fetches of two urls raise ConnectionError when they end,
2 at a time: a slot kept by a failed fetch leaves one slot after the first error and none
after the second (a deadlock, named with the line the tasks wait at); a slot given back
twice lets a third fetch in.
"""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import (
    Failure,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.model import SourceRef, Span

FUNCTIONS = {"run_limited": "coroutine function", "fetch_all": "coroutine function"}

# 8 equal jobs, 3 at a time: ceil(8/3) = 3 rounds of 1.5 s, 4.5 s in all (not the demo's numbers).
EQUAL_LIMIT, EQUAL_DURATION = 3, 1.5
EQUAL_JOBS = [(name, EQUAL_DURATION) for name in "HCFAGDBE"]
# 2 at a time, started the moment a slot frees: E 0→3, B 0→1, F 1→2.5, A 2.5→4.5, D 3→3.5, C 3.5→4.75.
# Job order E B F A D C; sorted A B C D E F; completion order B F E D A C. In batches of two
# (each waiting for its slowest job) they would end at 6.25 s, one at a time at 9.25 s.
UNEVEN_LIMIT = 2
UNEVEN_JOBS = [("E", 3.0), ("B", 1.0), ("F", 1.5), ("A", 2.0), ("D", 0.5), ("C", 1.25)]
# fetch_all, 2 at a time; /home and /shop raise when they end. Right: /home 0→1 (raises), /blog 0→3,
# /shop 1→2 (raises), /news 2→3.5, /faq 3→3.75, /jobs 3.5→5.5, /about 3.75→4.75. With the slot of a
# failed fetch never given back: /shop starts only at 3 when /blog ends, raises at 4, and nothing runs again.
FETCH_LIMIT = 2
FETCH_URLS = [("/home", 1.0), ("/blog", 3.0), ("/shop", 1.0), ("/news", 1.5), ("/faq", 0.75), ("/jobs", 2.0), ("/about", 1.0)]
FAILING = ("/home", "/shop")
EPS = 1e-6

NEVER_CALLED_HELP = "Call the `{worker}` you are given for every {unit}; don't build the results yourself."
EVERY_JOB_HELP = {
    "run_limited": "Call `worker(name, delay)` exactly once for every `(name, delay)` in `jobs`: each call runs that job once more.",
    "fetch_all": "Call `fetch(url)` exactly once for every url in `urls`: each call fetches it once more.",
}
WORKER_DIED_HELP = (
    "A fetch that raises ends whatever awaited it: a worker of your own that awaits fetches one after another stops "
    "there, and its urls are never fetched. Catch the fetch's exception inside the worker's loop and keep it as "
    "that url's result, so the worker goes on."
)
SORTED_HELP = "Return the results in the order of `{jobs}`, as they came back: don't sort them."
RESULT_ORDER_HELP = (
    "asyncio.gather returns the results in the order of its arguments, whichever ends first: collect them "
    "from gather (or store each at its index), not in the order the {many} finish."
)
JOB_ORDER_HELP = "Return the results in the order of `{jobs}`: the result of `{jobs}[i]` at index i."
MADE_UP_HELP = "Return what each `await {call}` gave you: the checks' {worker} returns values you cannot guess."
PER_JOB_HELP = (
    "Make the semaphore once, in {function} itself, before the jobs start, and let every job's coroutine use "
    "that one: a Semaphore made inside the coroutine of each job is a new one for every job, so none ever waits."
)
NOT_HELD_HELP = (
    "Hold the semaphore for as long as each job runs: `async with sem:` around `await {call}`, inside the "
    "coroutine that runs the job. Held around create_task(...) or around the call alone, it is given back "
    "before the job has even started."
)
NO_LIMIT_HELP = (
    "Make one `sem = asyncio.Semaphore(limit)` in {function}, and run each job inside `async with sem:` in a "
    "helper coroutine: only `limit` jobs get past it at a time, the others wait for a slot."
)
ONE_TOO_MANY_HELP = "The semaphore's number is the number of slots: `asyncio.Semaphore(limit)`, not `limit + 1`."
STARTED_BEFORE_SLOT_HELP = (
    "A {job} must have its slot before it starts: take the semaphore first, then start the {job} "
    "(`async with sem:` around `await` of the {job}, inside the coroutine each task runs), not the other way round."
)
WINDOW_HELP = (
    "Start the next {job} only while fewer than `limit` are in flight: wait as soon as `limit` are running "
    "(`len(running) >= limit`), not once more than `limit` are."
)
OVER_HELP = (
    "Never let more than `limit` jobs run at once: every job must hold a slot of the same semaphore "
    "(`async with sem:`) from before it starts until it ends."
)
ONE_AT_A_TIME_HELP = (
    "Don't await each job before starting the next: a loop of `async with sem: await {call}` runs them one by "
    "one. Start them all at once (asyncio.gather of one helper coroutine per job, each holding the semaphore "
    "around its own job) and let the semaphore hold back all but `limit`."
)
TOO_FEW_HELP = (
    "`limit` jobs should run at once while others wait: `asyncio.Semaphore(limit)`, not `limit - 1` (or "
    "`limit` worker tasks, not fewer), and no other lock or wait that holds the jobs back."
)
IDLE_HELP = (
    "Start the next job the moment any job ends: don't wait for a whole batch to finish (asyncio.gather on "
    "chunks of `limit` jobs waits for the slowest of each chunk). Start every job at once behind one semaphore, "
    "or let `limit` worker tasks take jobs off a queue."
)
RETURNED_UNAWAITED_HELP = (
    "asyncio.gather(...), a task and a coroutine are things to await, not results: "
    "`return await asyncio.gather(...)` (or await each task) so that the jobs run and you return their values."
)
RETURNED_EARLY_HELP = "Return only once every job has ended: await them all (asyncio.gather) before returning."
RETURNED_LATE_HELP = "Return the moment the last job ends: await the jobs themselves, never a fixed sleep."
HANG_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
SELF_WAIT_HELP = (
    "{function} is waiting for a slot that nothing will give back: the slots it took are given back only by its "
    "own code after that wait. Take and give back the slot inside each job's coroutine (`async with sem:` around "
    "the job), and let {function} only start the jobs and gather them."
)
LEAK_HELP = (
    "Give the slot back however the fetch ends: `async with sem:` around `await fetch(url)` does it for you; "
    "with `await sem.acquire()`, call `sem.release()` in the `finally:` of a try around the fetch (with worker "
    "tasks, catch the fetch's exception inside the worker's loop so the worker goes on)."
)
TWICE_HELP = (
    "Give the slot back exactly once: `async with sem:` does it for you; with acquire(), call release() in "
    "`finally:` only, not also in `except:`. An asyncio.BoundedSemaphore(limit) turns a release too many "
    "into a ValueError (at the latest once every slot is free again)."
)
BOUNDED_TWICE_HELP = (
    "BoundedSemaphore raised ValueError because the slot was given back twice: call release() once, in "
    "`finally:` only (not also in `except:`), or let `async with sem:` do it."
)
RAISED_HELP = (
    "Don't let a failed fetch's exception escape fetch_all: `await asyncio.gather(..., return_exceptions=True)` "
    "puts it in the list in its place (or catch Exception in the helper and return it), and the other fetches go on."
)
GROUP_HELP = (
    "A TaskGroup cancels every other fetch at the first error and raises an ExceptionGroup: use "
    "`asyncio.gather(..., return_exceptions=True)`, or catch Exception around `await fetch(url)` inside each task."
)
LOOP_BOUND_HELP = (
    "Make the semaphore inside {function}, one per call: `sem = asyncio.Semaphore(limit)`. A semaphore made at "
    "import time belongs to the first event loop that made a task wait on it, and every asyncio.run() (every "
    "check too) has a loop of its own; its number of slots is `limit`, not a number of your own."
)
KEEP_EXCEPTION_HELP = (
    "Put the exception object the fetch raised in the list, in its url's place: not None, not its text, not "
    "a new exception (`return_exceptions=True` in gather does it, or `except Exception as error: return error`)."
)


class Run:
    """One call of run_limited or fetch_all in the subject, as the probe saw it."""

    def __init__(
        self, evidence: dict[str, Any], function: str, jobs: list[tuple[str, float]], limit: int,
        values: dict[str, str], blocking: list[dict[str, Any]], file_name: str,
    ) -> None:  # fmt: skip
        self.function, self.limit, self.file_name = function, limit, file_name
        self.names = [name for name, _ in jobs]
        self.takes = dict(jobs)
        self.values = values
        self.fetching = function == "fetch_all"
        self.job = "fetch" if self.fetching else "job"
        self.worker = "fetch" if self.fetching else "worker"
        self.call = "fetch(url)" if self.fetching else "worker(name, delay)"
        self.jobs_name = "urls" if self.fetching else "jobs"
        self.blocking = blocking
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.error: dict[str, Any] = evidence.get("error") or {}
        self.hang: dict[str, Any] | None = evidence.get("hang")
        self.timeline = Timeline(evidence.get("timeline") or {})
        self.returned_at = float(evidence.get("returned_at", self.timeline.end()))
        self.semaphores: list[dict[str, Any]] = list(evidence.get("semaphores") or [])
        self.seen: dict[str, list[int]] = {str(k): list(v) for k, v in (evidence.get("seen") or {}).items()}
        self.tasks_made_at = [float(t) for t in evidence.get("tasks_made_at") or []]
        self.semaphore_line = source_of(evidence.get("semaphore_line"))
        self.fetches_raised: list[str] = list(evidence.get("fetches_raised") or [])  # the urls whose fetch raised

    # -- the timeline ------------------------------------------------------------------------

    def until(self) -> float:
        """The last moment the evidence covers: the return, or the last start or end before a hang."""
        moments = [*self.timeline.finished.values(), *self.timeline.started.values()]
        return max([*moments, 0.0] if self.hang else [*moments, self.returned_at])

    def spans(self) -> list[Span]:
        until = self.until()
        return [Span(s.name, s.start, until) if s.name in self.timeline.unfinished() else s for s in self.timeline.spans()]

    def moments(self) -> list[float]:
        """Every moment the number of jobs in flight may change, before the evidence ends."""
        spans = self.spans()
        points = {0.0, *(s.start for s in spans), *(s.end for s in spans)}
        last = max((s.end for s in spans), default=0.0)
        return sorted(m for m in points if m < last - EPS or m == 0.0)

    def in_flight(self, moment: float) -> list[str]:
        return [s.name for s in self.spans() if s.start <= moment + EPS and s.end > moment + EPS]

    def waiting(self, moment: float) -> list[str]:
        """The jobs not started yet at ``moment`` (they start later, or never), in the order given."""
        started = self.timeline.started
        return [name for name in self.names if name not in started or started[name] > moment + EPS]

    def most_in_flight(self) -> tuple[int, float]:
        best = (0, 0.0)
        for moment in self.moments():
            count = len(self.in_flight(moment))
            if count > best[0]:
                best = (count, moment)
        return best

    def ideal_end(self) -> float:
        """When the jobs end if each starts, in the order given, the moment a slot is free."""
        slots = [0.0] * self.limit
        for name in self.names:
            slots.sort()
            slots[0] += self.takes[name]
        return max(slots)

    def call_site(self) -> SourceRef | None:
        return self.timeline.first_call_site()

    # -- what every judgement needs ----------------------------------------------------------

    def expect_to_judge(self) -> None:
        """A return, no hang, and the worker called: else there is nothing to count."""
        if self.raised:
            raise raised_failure(self)
        if self.hang:
            raise hang_failure(self)
        self.timeline.expect_every_job_awaited()
        pending = unawaited(self.result)
        if pending and not self.timeline.calls:
            raise Failure(
                f"{self.function} returned {pending} at t={self.returned_at:g} s, before any {self.job} ran: "
                "what it returned was never awaited",
                RETURNED_UNAWAITED_HELP,
            )
        expect(
            bool(self.timeline.calls),
            f"{self.function} never called the {self.worker} it was given: no {self.job} ran",
            NEVER_CALLED_HELP.format(worker=self.worker, unit="url" if self.fetching else "job"),
        )
        self.timeline.expect_clock_kept_forward()

    def expect_each_once(self) -> None:
        calls = self.timeline.calls
        never = [name for name in self.names if name not in calls]
        if never:
            what = f"{joined(never)} {were(len(never))} never fetched" if self.fetching else f"{listed(never)} never ran"
            # Urls left over once fetches had raised: a worker of the code's own ended with its fetch's exception.
            raised = self.fetches_raised if self.fetching else []
            died = f", and the fetch{'es' if len(raised) > 1 else ''} of {joined(raised)} had raised" if raised else ""
            raise Failure(
                f"{what}: {self.function} called the {self.worker} for {len(set(calls) & set(self.names))} of the "
                f"{len(self.names)} {self.jobs_name}{died}",
                WORKER_DIED_HELP if died else EVERY_JOB_HELP[self.function],
                timeline=self.spans(),
                source=self.call_site(),
            )
        again = [name for name in self.names if calls.count(name) > 1]
        times = max(map(calls.count, again), default=0)
        expect(
            not again,
            f"{joined(again)} {were(len(again))} fetched {times} times" if self.fetching else f"{listed(again)} ran {times} times",
            EVERY_JOB_HELP[self.function],
            source=self.call_site(),
        )

    def expect_returned_at_the_end(self) -> None:
        unfinished = self.timeline.unfinished()
        if unfinished:
            raise Failure(
                f"{self.function} returned at t={self.returned_at:g} s while {listed(unfinished, self.job)} "
                f"{'was' if len(unfinished) == 1 else 'were'} still running",
                RETURNED_EARLY_HELP,
                timeline=self.spans(),
                source=self.timeline.first_wait_site(),
            )
        end = self.timeline.end()
        expect(
            self.returned_at <= end + EPS,
            f"{self.function} returned at t={self.returned_at:g} s, {self.returned_at - end:g} s after its last "
            f"{self.job} ended (t={end:g} s)",
            RETURNED_LATE_HELP,
            timeline=self.spans(),
            source=self.timeline.first_wait_site(),
        )


def unawaited(result: Any) -> str | None:
    """The repr of a coroutine, task or future the function returned (alone or in a list) instead of results."""
    for value in result if isinstance(result, list) else [result]:
        text = str(value.get("repr", "")) if isinstance(value, dict) else ""
        if text.startswith(("<coroutine", "<Task", "<_GatheringFuture", "<Future")):
            return text
    return None


def joined(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``; past five, ``A, B, C, D and 3 more``."""
    shown = names if len(names) <= 5 else [*names[:4], f"{len(names) - 4} more"]
    if not shown:
        return "none"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def listed(names: list[str], job: str = "job") -> str:
    """``job C`` or ``jobs A, B and C``; ``the fetch of /a`` or ``the fetches of /a and /b``."""
    if not names:
        return f"no {job}"
    if job == "fetch":
        return f"the fetch{'es' if len(names) > 1 else ''} of {joined(names)}"
    return f"job{'s' if len(names) > 1 else ''} {joined(names)}"


def describe(run: Run) -> str:
    """``A 0→3 s, B 3→4.5 s``: the spans in a line, to the hundredth."""
    return ", ".join(f"{s.name} {s.start:g}→{s.end:g} s" for s in run.spans()) or "nothing ran"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else ('es' if word.endswith('h') else 's')}"


def were(count: int) -> str:
    return "was" if count == 1 else "were"


def source_of(where: dict[str, Any] | None) -> SourceRef | None:
    return SourceRef.from_json(where) if where else None


def raised_failure(run: Run) -> Exception:
    """Why the function raised: a fetch's error let through, a TaskGroup's group, or the student's own exception."""
    assert run.raised is not None
    job, kind = run.error.get("job"), run.error.get("type", "Exception")
    when = f"at t={run.returned_at:g} s"
    if run.fetching and job:
        return Failure(
            f"fetch_all raised the {kind} of the fetch of {job} {when}, instead of putting it in the list: "
            f"{len(run.timeline.finished)} of {len(run.names)} fetches had ended",
            RAISED_HELP,
            timeline=run.spans(),
            source=source_of(run.raised.get("source")),
        )
    if run.fetching and "ExceptionGroup" in str(kind):
        return Failure(
            f"fetch_all raised an {kind} {when}, when the fetch of {FAILING[0]} failed: the other fetches were "
            "cancelled, and no list came back",
            GROUP_HELP,
            timeline=run.spans(),
            source=source_of(run.raised.get("source")),
        )
    if kind == "RuntimeError" and "bound to a different event loop" in str(run.raised.get("message")):
        where = source_of(run.raised.get("source"))
        return Failure(
            f"your code raised {run.raised.get('python_says') or run.raised.get('message')}: a semaphore made once, "
            "at import time, waited on under one event loop and then used under another",
            LOOP_BOUND_HELP.format(function=run.function),
            source=where,
        )
    return student_failure(run.raised, run.file_name)


def hang_failure(run: Run) -> Failure:
    """Why the function never returned: what ran, what never started, where its tasks (or itself) wait."""
    assert run.hang is not None
    hang, timeline = run.hang, run.timeline
    parked = [SourceRef.from_json(where) for where in hang.get("parked") or []]
    caller = source_of(hang.get("waiting_at"))
    never = [name for name in run.names if name not in timeline.started]
    ran = len(set(timeline.finished) & set(run.names))
    last = run.until()
    rationale = (
        f"{run.function}() had not returned after {float(hang.get('seconds', 0)):g} s of event-loop time: "
        f"{ran} of {len(run.names)} {run.job}{'es' if run.fetching else 's'} ran, and nothing ran after t={last:g} s"
    )
    if never:
        rationale += f"; {listed(never, run.job)} never started"
    failed = [url for url in FAILING if run.fetching and url in timeline.finished]
    if failed and never:
        when = " and ".join(f"{url} at t={timeline.finished[url]:g} s" for url in failed)
        lines = sorted({p.line for p in parked})
        at = f": {plural(len(parked), 'task')} still wait at line {lines[0]}" if parked else ""
        return Failure(
            f"{rationale}{at}, for a slot that the failed fetches ({when}) never gave back",
            LEAK_HELP,
            timeline=run.spans(),
            source=parked[0] if parked else caller,
        )
    if parked:
        return Failure(
            f"{rationale}: {plural(len(parked), 'task')} it started still wait at line {parked[0].line}",
            HANG_HELP,
            timeline=run.spans(),
            source=parked[0],
        )
    if caller is not None:
        self_wait = any(word in caller.excerpt for word in ("acquire", "async with"))
        return Failure(
            f"{rationale}: {run.function} itself still waits at line {caller.line}, and no {run.job} is running "
            "or waiting that could wake it",
            SELF_WAIT_HELP.format(function=run.function) if self_wait else HANG_HELP,
            timeline=run.spans(),
            source=caller,
        )
    return Failure(rationale, HANG_HELP, timeline=run.spans())


def per_job_semaphore(run: Run) -> dict[str, Any] | None:
    """The first job's semaphore when every job saw a semaphore of its own, and no two jobs the same one."""
    seen = [indexes for name in run.names if (indexes := run.seen.get(name))]
    if len(seen) < 2:
        return None
    users: dict[int, int] = {}
    for indexes in seen:
        for index in indexes:
            users[index] = users.get(index, 0) + 1
    if any(count > 1 for count in users.values()):
        return None
    index = seen[0][0]
    return run.semaphores[index] if index < len(run.semaphores) else None


def over_failure(run: Run, others: list[Run]) -> Failure | None:
    """More than `limit` jobs in flight at some moment, with the likeliest reason."""
    most, moment = run.most_in_flight()
    if most <= run.limit:
        return None
    flying = run.in_flight(moment)
    what = f"with limit={run.limit}, {most} {run.job}{'es' if run.fetching else 's'} were in flight at once at t={moment:g} s"
    if run.fetching:
        first = next(m for m in run.moments() if len(run.in_flight(m)) > run.limit)
        failed = [url for url in FAILING if url in run.timeline.finished and run.timeline.finished[url] <= first + EPS]
        if failed:
            over = run.in_flight(first)
            later = f"; {most} at t={moment:g} s" if most > len(over) else ""
            return Failure(
                f"with limit={run.limit}, {len(over)} fetches were in flight at once at t={first:g} s "
                f"({joined(over)}{later}), right after the fetch of {failed[-1]} raised at "
                f"t={run.timeline.finished[failed[-1]]:g} s: its slot was given back twice",
                TWICE_HELP,
                timeline=run.spans(),
                source=run.call_site(),
            )
    mine = per_job_semaphore(run)
    if mine is not None:
        made = source_of(mine.get("made_at"))
        at = f", line {made.line}" if made else ""
        return Failure(
            f"{what}: every {run.job} had a semaphore of its own (`{mine['name']}`, made in {mine['in']}(){at}), "
            f"so none ever waited for a slot",
            PER_JOB_HELP.format(function=run.function),
            timeline=run.spans(),
            source=made or run.call_site(),
        )
    if most == len(run.names) and run.semaphores:
        return Failure(
            f"{what}: all of them, though the code has a semaphore (`{run.semaphores[0]['name']}`); it did not hold any {run.job} back",
            NOT_HELD_HELP.format(call=run.call),
            timeline=run.spans(),
            source=run.call_site(),
        )
    if most == len(run.names):
        return Failure(
            f"{what}: all of them, started together with nothing holding them back",
            NO_LIMIT_HELP.format(function=run.function),
            timeline=run.spans(),
            source=run.call_site(),
        )
    if not all(r.most_in_flight()[0] == r.limit + 1 for r in [run, *others]):
        return Failure(f"{what} ({joined(flying)})", OVER_HELP, timeline=run.spans(), source=run.call_site())
    # One too many, always: a semaphore with a slot too many, a job started before it has its slot, or a
    # window of the student's own that waits only once more than `limit` run.
    made = run.semaphore_line
    source: SourceRef | None
    if made is not None and "+" in made.excerpt:
        help, source = ONE_TOO_MANY_HELP, made
    elif run.semaphores:
        help, source = STARTED_BEFORE_SLOT_HELP.format(job=run.job), run.call_site()
    else:
        help, source = WINDOW_HELP.format(job=run.job), run.call_site()
    return Failure(f"{what} ({joined(flying)})", help, timeline=run.spans(), source=source)


def idle_failure(run: Run) -> Failure | None:
    """The first moment fewer than `limit` jobs were in flight while some job had not started yet."""
    most, _ = run.most_in_flight()
    plural_job = f"{run.job}{'es' if run.fetching else 's'}"
    for moment in run.moments():
        waiting = run.waiting(moment)
        flying = run.in_flight(moment)
        if not waiting or len(flying) >= run.limit:
            continue
        first = waiting[0]
        began = run.timeline.started.get(first)
        late = f": {first} started only at t={began:g} s" if began is not None else ""
        ideal, end = run.ideal_end(), run.timeline.end()
        each = next(iter(run.takes.values()))
        total = (
            f"{len(run.names)} {plural_job} of {each:g} s, {run.limit} at a time, take "
            f"ceil({len(run.names)}/{run.limit}) × {each:g} = {ideal:g} s"
            if len(set(run.takes.values())) == 1
            else f"with each {run.job} started the moment a slot is free they would end at t={ideal:g} s"
        )
        # One at a time because the caller waits for each job before it starts the next: the jobs run in
        # the caller's own task, or their tasks are made one after another, not all at the start.
        awaited_each = bool(run.timeline.in_caller) or any(t > EPS for t in run.tasks_made_at)
        if most == 1 and run.limit > 1 and awaited_each:
            return Failure(
                f"the {plural_job} ran one at a time ({describe(run)}), ending at t={end:g} s, but {total}",
                ONE_AT_A_TIME_HELP.format(call=run.call),
                timeline=run.spans(),
                source=run.timeline.first_wait_site(),
            )
        if run.fetching:
            failed = [url for url in FAILING if url in run.timeline.finished and run.timeline.finished[url] <= moment + EPS]
            kept = all(len(run.in_flight(m)) < run.limit for m in run.moments() if m >= moment and run.waiting(m))
            if failed and kept:
                return Failure(
                    f"after the fetch of {failed[-1]} raised at t={run.timeline.finished[failed[-1]]:g} s, only "
                    f"{plural(len(flying), 'fetch')} {were(len(flying))} in flight at t={moment:g} s (limit={run.limit}) "
                    f"while {plural(len(waiting), 'url')} waited{late}: its slot was never given back",
                    LEAK_HELP,
                    timeline=run.spans(),
                    source=run.call_site(),
                )
        if most < run.limit:
            return Failure(
                f"never more than {plural(most, run.job)} {were(most)} in flight at once (limit={run.limit}), though "
                f"at t={moment:g} s {plural(len(waiting), run.job if not run.fetching else 'url')} waited; they ended "
                f"at t={end:g} s, but {total}",
                TOO_FEW_HELP,
                timeline=run.spans(),
                source=run.semaphore_line or run.call_site(),
            )
        return Failure(
            f"at t={moment:g} s only {plural(len(flying), run.job)} {were(len(flying))} in flight (limit={run.limit}) "
            f"while {listed(waiting, run.job) if not run.fetching else joined(waiting)} waited{late}; they ended "
            f"at t={end:g} s, but {total}",
            IDLE_HELP,
            timeline=run.spans(),
            source=run.timeline.first_wait_site(),
        )
    return None


# -- calling the subject -------------------------------------------------------------------------


def limited_runs(exercise: Subject, which: list[tuple[list[tuple[str, float]], int]]) -> list[Run]:
    """run_limited once per (jobs, limit), in one call of the subject."""
    require(exercise, "run_limited", "coroutine function")
    plans: list[dict[str, Any]] = []
    for jobs, limit in which:
        values = {name: f"{name}-{secrets.token_hex(3)}" for name, _ in jobs}
        plans.append({"jobs": [list(job) for job in jobs], "limit": limit, "values": values})
    evidence = exercise.call("run_limited", runs=plans)
    return [
        Run(found, "run_limited", jobs, limit, plan["values"], exercise.blocking, exercise.file_name)
        for found, plan, (jobs, limit) in zip(evidence, plans, which)
    ]


def fetch_run(exercise: Subject) -> Run:
    require(exercise, "fetch_all", "coroutine function")
    values = {url: f"<html {url} {secrets.token_hex(3)}>" for url, _ in FETCH_URLS}
    failures = {url: f"{url}: connection reset ({secrets.token_hex(3)})" for url in FAILING}
    evidence = exercise.call(
        "fetch_all", urls=[url for url, _ in FETCH_URLS], durations=dict(FETCH_URLS), values=values,
        failures=failures, limit=FETCH_LIMIT,
    )  # fmt: skip
    return Run(evidence, "fetch_all", FETCH_URLS, FETCH_LIMIT, values, exercise.blocking, exercise.file_name)


# -- results -------------------------------------------------------------------------------------


def entry_of(run: Run, got: Any) -> str | None:
    """The job (url) a returned entry belongs to: its value, or the very exception its fetch raised."""
    if isinstance(got, dict) and isinstance(got.get("exception"), dict):
        job = got["exception"].get("job")
        return str(job) if job else None
    by_value = {value: name for name, value in run.values.items() if not (run.fetching and name in FAILING)}
    return by_value.get(got) if isinstance(got, str) else None


def shown(got: Any) -> str:
    if isinstance(got, dict) and isinstance(got.get("exception"), dict):
        return str(got["exception"].get("message"))
    if isinstance(got, dict) and "repr" in got:
        return str(got["repr"])
    return repr(got)


def expect_results_in_order(run: Run) -> None:
    result, names = run.result, run.names
    help_args = {"jobs": run.jobs_name, "many": "fetches" if run.fetching else "jobs", "call": run.call, "worker": run.worker}
    if not isinstance(result, list):
        raise Failure(
            f"{run.function} returned {shown(result)}, not a list of the {len(names)} results",
            MADE_UP_HELP.format(**help_args),
        )
    owners = [entry_of(run, got) for got in result]
    if owners == names:
        return
    if sorted(o for o in owners if o) == sorted(names):
        order = [o for o in owners if o]
        completion = sorted(names, key=lambda n: run.timeline.finished.get(n, 0.0))
        help = SORTED_HELP if order == sorted(names) else RESULT_ORDER_HELP if order == completion else JOB_ORDER_HELP
        raise Failure(
            f"{run.function} returned the results of {run.jobs_name} {order}, in that order; "
            f"expected those of {names}, the order of `{run.jobs_name}`",
            help.format(**help_args),
        )
    if len(result) == len(names):
        for name, got, owner in zip(names, result, owners):
            if owner != name and (is_exception(got) or (run.fetching and name in FAILING)):
                wrong_entry(run, name, got)
    if not any(owners):
        raise Failure(
            f"{run.function} returned {[shown(got) for got in result][:8]}: none of these is a value the {run.worker} returned",
            MADE_UP_HELP.format(**help_args),
        )
    missing = [name for name in names if name not in owners]
    raise Failure(
        f"{run.function} returned {len(result)} values for {len(names)} {run.jobs_name}"
        + (f"; the results of {', '.join(missing)} are not among them" if missing else ", some of them twice"),
        MADE_UP_HELP.format(**help_args),
    )


def is_exception(got: Any) -> bool:
    return isinstance(got, dict) and isinstance(got.get("exception"), dict)


def wrong_entry(run: Run, name: str, got: Any) -> None:
    """In a job's place the list holds an exception no fetch raised, or a failed fetch's exception is not there."""
    what = (
        f"the ConnectionError the fetch of {name} raised"
        if run.fetching and name in FAILING
        else f"the value {'the fetch of ' + name if run.fetching else 'job ' + name} returned"
    )
    if is_exception(got):
        error = got["exception"]
        where = source_of((error.get("raised") or {}).get("source"))
        bounded = error.get("type") == "ValueError" and "released too many times" in str(error.get("message"))
        raise Failure(
            f"in place of {what}, {run.function}'s list holds {error.get('message')}" + (f", raised at line {where.line}" if where else ""),
            BOUNDED_TWICE_HELP if bounded else KEEP_EXCEPTION_HELP,
            source=where,
        )
    raise Failure(f"in place of {what}, {run.function}'s list holds {shown(got)}", KEEP_EXCEPTION_HELP)


# -- the checks ----------------------------------------------------------------------------------


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


@check("limited_results")
def check_limited_results(exercise: Subject) -> None:
    (run,) = limited_runs(exercise, [(UNEVEN_JOBS, UNEVEN_LIMIT)])
    run.expect_to_judge()
    run.expect_each_once()
    expect_results_in_order(run)


@check("never_over")
def check_never_over(exercise: Subject) -> None:
    runs = limited_runs(exercise, [(EQUAL_JOBS, EQUAL_LIMIT), (UNEVEN_JOBS, UNEVEN_LIMIT)])
    for run in runs:
        run.expect_to_judge()
    for run in runs:
        failure = over_failure(run, [r for r in runs if r is not run])
        if failure is not None:
            raise failure


@check("limit_at_a_time")
def check_limit_at_a_time(exercise: Subject) -> None:
    runs = limited_runs(exercise, [(EQUAL_JOBS, EQUAL_LIMIT), (UNEVEN_JOBS, UNEVEN_LIMIT)])
    for run in runs:
        run.expect_to_judge()
        expect_no_blocking(run.blocking)
        run.expect_each_once()
    for run in runs:
        run.expect_returned_at_the_end()
        failure = idle_failure(run)
        if failure is not None:
            raise failure


@check("fetch_results")
def check_fetch_results(exercise: Subject) -> None:
    run = fetch_run(exercise)
    run.expect_to_judge()
    run.expect_each_once()
    expect_results_in_order(run)


@check("fetch_releases")
def check_fetch_releases(exercise: Subject) -> None:
    run = fetch_run(exercise)
    run.expect_to_judge()
    expect_no_blocking(run.blocking)
    run.expect_each_once()
    run.expect_returned_at_the_end()
    failure = over_failure(run, []) or idle_failure(run)
    if failure is not None:
        raise failure
