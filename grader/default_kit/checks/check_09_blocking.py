"""Hidden checks for 09_blocking: the judge's blocking function says which thread ran it, and whether the loop ran meanwhile.

Nothing here is judged on how long anything took. The probe's blocking function notes
whether it runs on the event loop's own thread, and in a worker thread it waits until a
heartbeat on the loop has ticked: only code that leaves the loop free while the function
runs lets it return with ticks (see the probe file). So a blocking call made in the
coroutine (``func(*args)``, ``to_thread(func(*args))``) is seen as run on the loop's
thread, a thread waited for with ``.result()`` as a frozen loop, and one-at-a-time work
as calls that never ran together. The values returned, the arguments and the paths are
the judge's, chosen afresh for every call: a made-up result does not match.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from grader.checking import (
    Failure,
    Mismatch,
    NotFinished,
    Subject,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.model import SourceRef

FUNCTIONS = {"run_blocking": "coroutine function", "run_with_heartbeat": "coroutine function", "hash_files": "coroutine function"}
TICKS = 2  # ticks of a heartbeat on the loop the judge's function waits for, in its thread
INTERVAL = 0.003  # the heartbeat interval run_with_heartbeat is given: not the demo's
TOGETHER_FILES, TOGETHER_LIMIT = 6, 3
LIMIT_FILES, LIMIT = 5, 2

ON_LOOP_HELP = (
    "Calling a blocking function inside a coroutine runs it on the event loop's own thread. Hand it to a "
    "worker thread and await the result: `return await asyncio.to_thread(func, *args)` "
    "(or `await loop.run_in_executor(None, func, *args)`)."
)
CALLED_FIRST_HELP = (
    "`asyncio.to_thread(func(*args))` calls func right there, on the event loop's thread, and hands its *result* "
    "to to_thread. Pass the function and its arguments separately: `await asyncio.to_thread(func, *args)` "
    "(likewise `loop.run_in_executor(None, func, *args)`)."
)
FROZEN_HELP = (
    "Waiting for a thread with future.result(), thread.join() or executor.shutdown() blocks the event loop as much "
    "as the work itself. Await it instead: `await asyncio.to_thread(func, *args)`, "
    "`await loop.run_in_executor(executor, func, *args)` or `await asyncio.wrap_future(executor.submit(func, *args))`."
)
NOT_AWAITED_HELP = (
    "asyncio.to_thread(...) returns a coroutine and loop.run_in_executor(...) a Future: neither is func's result "
    "until you await it. Write `return await asyncio.to_thread(func, *args)`."
)
RETURNED_EARLY_HELP = (
    "Return only once func has finished, with its result: await the thread's coroutine or Future "
    "(`return await asyncio.to_thread(func, *args)`) instead of starting it and moving on."
)
NEVER_CALLED_HELP = (
    "Call the `func` you are given, in a worker thread, and return what it returns: "
    "`return await asyncio.to_thread(func, *args)`. The checks' func returns a value you cannot guess."
)
PROCESS_HELP = (
    "A process pool sends the function to another process, which only works for functions it can pickle, and it "
    "is meant for pure-Python computing. For a blocking call, a thread is what you need: "
    "`await asyncio.to_thread(func, *args)`."
)
RAN_TWICE_HELP = "Run func once, in the worker thread: the awaited `asyncio.to_thread(func, *args)` gives you its result."
UNPACK_HELP = (
    "Unpack the arguments: `asyncio.to_thread(func, *args)`, with the star, calls func(*args); "
    "without it func gets one tuple."
)
ARGS_HELP = "Pass func exactly the arguments you were given, in order: `asyncio.to_thread(func, *args)`."
RESULT_HELP = "Return what func returned: `return await asyncio.to_thread(func, *args)`."
NO_BEATS_HELP = (
    "Start the heartbeat as a task of its own *before* you await the thread: `pulse = asyncio.create_task(heartbeat())`, "
    "then `await asyncio.to_thread(func)` while it beats (its loop: `await asyncio.sleep(interval)`, then `beat()`)."
)
BEAT_OFF_LOOP_HELP = (
    "Beat from a coroutine on the event loop: an asyncio task whose loop is `await asyncio.sleep(interval)` then "
    "`beat()`. A thread of your own with time.sleep() is not the event loop, and it does not stop when func does."
)
SPACING_HELP = (
    "Wait `interval` seconds between two beats, with the `interval` you are given: `await asyncio.sleep(interval)` "
    "inside the heartbeat's loop, once per beat."
)
HANG_HELP = (
    "The heartbeat never ends by itself, so awaiting it (or gathering it with the thread) waits forever. "
    "Await only the thread, then cancel the heartbeat task."
)
LATE_BEATS_HELP = (
    "Stop the heartbeat once func is done: `pulse.cancel()`, then await it (ignoring its CancelledError) "
    "before you return."
)
CANCEL_AWAIT_HELP = (
    "task.cancel() only asks a task to stop: it is still pending when cancel() returns. Await it "
    "(`with contextlib.suppress(asyncio.CancelledError): await pulse`) before you return, so no task outlives the call."
)
CANCELLED_AWAITED_HELP = (
    "Awaiting a task you cancelled raises its CancelledError in your code: await it inside "
    "`with contextlib.suppress(asyncio.CancelledError):`, so that the call goes on to return func's result."
)
FINALLY_HELP = (
    "Stop the heartbeat in a `finally:` block (`try: return await asyncio.to_thread(func)` / `finally:` cancel it and "
    "await it), so that it stops when func raises too."
)
SWALLOWED_HELP = (
    "Let func's exception reach the caller: awaiting `asyncio.to_thread(func)` raises it again in your coroutine. "
    "Stop the heartbeat in a `finally:` block, with no `except` that hides the error."
)
GROUP_HELP = (
    "A TaskGroup hands an exception of its body on wrapped in an ExceptionGroup. Await the thread outside the "
    "`async with asyncio.TaskGroup()` block, or use a plain task with try/finally, so that func's own exception "
    "reaches the caller."
)
EACH_PATH_HELP = "Call hasher(path) exactly once for every path of `paths`, each in a worker thread."
SEQUENTIAL_HELP = (
    "Awaiting each `asyncio.to_thread(hasher, path)` in a for loop waits for one file before starting the next. "
    "Make one coroutine per path (inside it: `async with semaphore:` then `return await asyncio.to_thread(hasher, path)`) "
    "and await them all together with asyncio.gather."
)
FEWER_HELP = (
    "Let `limit` hashers run at once, with the `limit` you are given: one `asyncio.Semaphore(limit)` shared by all "
    "the files (or a ThreadPoolExecutor(max_workers=limit)), not a number of your own."
)
LIMIT_HELP = (
    "Create one asyncio.Semaphore(limit) in hash_files, before the coroutines, and hold it around each "
    "`await asyncio.to_thread(hasher, path)`: a semaphore made inside each coroutine, or held only while the coroutines "
    "are created, limits nothing. (A ThreadPoolExecutor(max_workers=limit) with loop.run_in_executor works too.)"
)
POOL_PER_CALL_HELP = (
    "Make one ThreadPoolExecutor(max_workers=limit) in hash_files and hand it every file's hasher, or hold one "
    "asyncio.Semaphore(limit), made before the coroutines, around each `await asyncio.to_thread(hasher, path)`."
)
DICT_HELP = "Return a dict that maps each path to its digest: `dict(zip(paths, digests))`, with the digests in the order of `paths`."
MAPPING_HELP = (
    "Pair each path with its own digest: asyncio.gather returns the results in the order of its arguments, so "
    "`dict(zip(paths, await asyncio.gather(...)))` pairs them right; the order in which threads finish does not."
)


def token(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def awaitable_shown(result: Any) -> str | None:
    """What a result that is an awaitable someone forgot to await is: ``coroutine``, ``Future`` or ``Task``."""
    text = result.get("repr", "") if isinstance(result, dict) and set(result) == {"repr"} else ""
    if text.startswith("<coroutine object"):
        return "coroutine"
    if text.startswith("<Task"):
        return "Task"
    if text.startswith("<Future") or "Future" in text.split(" ")[0]:
        return "Future"
    return None


def source_of(where: dict[str, Any] | None) -> SourceRef | None:
    return SourceRef.from_json(where) if where else None


class Outcome:
    """One call of the student's function in the subject: what came back, and what the judge's function saw."""

    def __init__(self, exercise: Subject, function: str, noun: str, **args: Any) -> None:
        require(exercise, function, "coroutine function")
        self.exercise, self.function, self.noun = exercise, function, noun
        evidence = exercise.call(function, **args)
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.hang: dict[str, Any] | None = evidence.get("hang")
        self.calls: list[dict[str, Any]] = evidence["calls"]
        self.beats: list[dict[str, Any]] = evidence["beats"]
        self.left_running: list[dict[str, str]] = evidence["left_running"]
        self.max_in_flight = int(evidence["max_in_flight"])
        self.max_runnable = int(evidence["max_runnable"])
        self.pools = int(evidence["pools"])  # thread pools whose jobs called the judge's function
        self.waiting_at = source_of(evidence.get("waiting_at"))
        self.tasks_at = [SourceRef.from_json(where) for where in evidence.get("tasks_at") or []]
        self.job_failed: str | None = evidence.get("raised_job_failed")
        # What blocked the loop is worded here, with the evidence of what ran where (a frozen loop is
        # diagnosed with the student's line): the reporter's general words would only repeat it, vaguer.
        self.blocking, exercise.blocking = exercise.blocking, []

    def definition(self) -> SourceRef | None:
        return source_of(self.exercise.defined().get(self.function))

    def on_loop(self) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["on_loop"]]

    def expect_finished(self, help: str = "") -> None:
        if self.hang is None:
            return
        # A call that blocked the loop (time.sleep in a coroutine, say) is why it ran out of time,
        # whether or not it ran out on this machine: say that, the same on every machine.
        expect_no_blocking(self.blocking)
        if not help:
            raise NotFinished(str(self.hang["what"]), float(self.hang["seconds"]), {})
        pending = ", ".join(sorted({task["name"] for task in self.hang["pending"]}))
        still = f": {pending} was still running" if pending else ""
        raise Failure(
            f"{self.function} had not returned after {self.hang['seconds']:g} s of event-loop time, long after "
            f"{self.noun} had finished{still}",
            help,
            source=self.waiting_at or self.definition(),
        )

    def expect_ran(self, expected_raise: bool = False) -> None:
        """The judge's function ran, from an awaited thread: what any verdict on its work needs first."""
        not_callable = self.raised is not None and "not callable" in str(self.raised.get("message"))
        called_first = next(iter(self.on_loop()), None) if not_callable else None
        if called_first is not None and self.raised is not None:
            site = source_of(called_first["site"])
            raise Failure(
                f"{self.noun} ran on the event loop's own thread{f' (line {site.line})' if site else ''}, and then "
                f"{self.function} raised {self.raised['message']}: the thread was handed {self.noun}'s result, not {self.noun}",
                CALLED_FIRST_HELP,
                source=site,
            )
        kind = awaitable_shown(self.result)
        if kind is not None and not self.raised:
            ran = "so it never ran" if kind == "coroutine" else f"so {self.function} returned before {self.noun} had finished"
            raise Failure(
                f"{self.function} returned a {kind} instead of {self.noun}'s result: nothing awaited it, {ran}",
                NOT_AWAITED_HELP,
                source=self.definition(),
            )
        if self.raised and "pickle" in str(self.raised.get("message")).lower():
            raise Failure(
                f"{self.function} raised {self.raised['message']}: {self.noun} was handed to another process, "
                "and the checks' function cannot travel there",
                PROCESS_HELP,
                source=source_of(self.raised.get("source")) or self.definition(),
            )
        if self.raised and self.raised.get("type") == "CancelledError":
            site = source_of(self.raised.get("source"))
            raise Failure(
                f"{self.function} raised CancelledError{f' at line {site.line}' if site else ''} instead of returning, "
                "though nothing cancelled it: a task that was cancelled raises its CancelledError in whoever awaits it",
                CANCELLED_AWAITED_HELP,
                source=site,
            )
        if self.raised and not (expected_raise and self.job_failed is not None):
            raise student_failure(self.raised, self.exercise.file_name)
        if not self.calls:
            raise Failure(
                f"{self.noun} was never called: {self.function} returned {self.result!r} without running it",
                NEVER_CALLED_HELP,
                source=self.definition(),
            )

    def expect_off_loop(self) -> None:
        """Every call ran in a worker thread, the loop ran meanwhile, and the student's code waited for it."""
        first = next(iter(self.on_loop()), None)
        if first is not None:
            site = source_of(first["site"])
            excerpt = site.excerpt if site else ""
            help = CALLED_FIRST_HELP if any(word in excerpt for word in ("to_thread(", "run_in_executor(", "submit(")) else ON_LOOP_HELP
            at = f" (called at line {site.line})" if site else ""
            raise Failure(
                f"{self.noun} ran on the event loop's own thread{at}: while it ran, nothing else could run, "
                "and the checks' heartbeat could not tick once",
                help,
                source=site,
            )
        if any(call["waited"] in ("frozen", "skipped") for call in self.calls):
            at = f" at line {self.waiting_at.line}" if self.waiting_at else ""
            raise Failure(
                f"{self.noun} ran in a worker thread, but the event loop did not run meanwhile: the checks' heartbeat "
                f"did not tick once while {self.noun} ran, because {self.function} waited for the thread{at} without awaiting",
                FROZEN_HELP,
                source=self.waiting_at or self.definition(),
            )
        late = next((call for call in self.calls if call["ended_after_return"]), None)
        if late is not None:
            raise Failure(
                f"{self.function} returned {self.result!r} before {self.noun} had finished in its thread: "
                f"it never waited for {self.noun}",
                RETURNED_EARLY_HELP,
                source=self.definition(),
            )
        expect_no_blocking(self.blocking)

    def late_beats(self) -> list[dict[str, Any]]:
        return [beat for beat in self.beats if beat["after_return"]]

    def expect_stopped(self, help: str, when: str) -> None:
        """No beat once the call is over, and no task of the student's left pending."""
        if self.late_beats():
            raise Failure(
                f"beat() was still being called after run_with_heartbeat {when}: its heartbeat kept running",
                help,
                source=self.definition(),
            )
        if self.left_running:
            task = self.left_running[0]
            state = "cancelled but not finished" if task["state"] == "cancelling" else "still running"
            raise Failure(
                f"when run_with_heartbeat {when}, the task {task['name']}() it started was {state}",
                CANCEL_AWAIT_HELP if task["state"] == "cancelling" else help,
                source=self.definition(),
            )


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


def blocking_run(exercise: Subject) -> tuple[Outcome, list[Any], str]:
    args = [token("report") + ".csv", secrets.randbelow(90) + 10]
    value = token("digest")
    return Outcome(exercise, "run_blocking", "func", args=args, value=value, ticks=TICKS), args, value


@check("blocking_result")
def check_blocking_result(exercise: Subject) -> None:
    run, args, value = blocking_run(exercise)
    run.expect_ran()
    if len(run.calls) > 1:
        raise Failure(
            f"func ran {len(run.calls)} times: each call of func runs the blocking work again",
            RAN_TWICE_HELP,
            source=source_of(run.calls[1]["site"]) or run.definition(),
        )
    got = run.calls[0]["args"]
    if got != args or run.calls[0]["kwargs"]:
        one_tuple = got == [args]
        raise Failure(
            f"func was called as func({tuple(args)!r}), with the whole tuple as its only argument, "
            f"instead of func({', '.join(map(repr, args))})"
            if one_tuple
            else f"func was called with arguments {got!r}{' and ' + repr(run.calls[0]['kwargs']) if run.calls[0]['kwargs'] else ''}, "
            f"not {args!r}",
            UNPACK_HELP if one_tuple else ARGS_HELP,
            source=source_of(run.calls[0]["site"]) or run.waiting_at or run.definition(),
        )
    if run.result != value:
        raise Mismatch("<what func returned>", run.result, RESULT_HELP, what="run_blocking() to return", source=run.waiting_at)


@check("blocking_off_loop")
def check_blocking_off_loop(exercise: Subject) -> None:
    run, _, _ = blocking_run(exercise)
    run.expect_ran()
    run.expect_off_loop()


def heartbeat_run(exercise: Subject, fails: str | None = None) -> tuple[Outcome, str]:
    value = token("answer")
    return Outcome(exercise, "run_with_heartbeat", "func", value=value, interval=INTERVAL, beats=TICKS, fails=fails), value


@check("heartbeat")
def check_heartbeat(exercise: Subject) -> None:
    run, value = heartbeat_run(exercise)
    run.expect_finished(HANG_HELP)
    run.expect_ran()
    run.expect_off_loop()
    off_loop = [beat for beat in run.beats if not beat["on_loop"]]
    expect(
        not off_loop,
        "beat() was called from a worker thread, not from the event loop",
        BEAT_OFF_LOOP_HELP,
        source=run.definition(),
    )
    if any(call["waited"] == "no_beats" for call in run.calls) and run.tasks_at:
        raise Failure(
            f"beat() was not called while func ran, though the event loop was free (the checks' own heartbeat kept "
            f"ticking meanwhile): your heartbeat task was waiting at line {run.tasks_at[0].line} all along",
            SPACING_HELP,
            source=run.tasks_at[0],
        )
    if any(call["waited"] == "no_beats" for call in run.calls):
        after = any(not beat["during"] and not beat["after_return"] for beat in run.beats)
        raise Failure(
            "beat() was not called while func ran, though the event loop was free: the checks' own heartbeat kept "
            "ticking meanwhile" + (", and beat() came only once func had finished" if after else ""),
            NO_BEATS_HELP,
            source=run.waiting_at or run.definition(),
        )
    times = [float(beat["at"]) for beat in run.beats if not beat["after_return"]]
    gaps = [round(later - earlier, 6) for earlier, later in itertools.pairwise(times)]
    wrong = next((gap for gap in gaps if abs(gap - INTERVAL) > INTERVAL / 10), None)
    if wrong is not None:
        raise Failure(
            f"two beats came {wrong:g} s apart on the event loop's clock; run_with_heartbeat was asked for one every "
            f"{INTERVAL:g} s",
            SPACING_HELP,
            source=run.definition(),
        )
    if run.result != value:
        raise Mismatch("<what func returned>", run.result, RESULT_HELP, what="run_with_heartbeat() to return", source=run.waiting_at)


@check("heartbeat_stops")
def check_heartbeat_stops(exercise: Subject) -> None:
    run, _ = heartbeat_run(exercise)
    run.expect_finished(HANG_HELP)
    run.expect_ran()
    run.expect_stopped(LATE_BEATS_HELP, "returned")
    message = token("disk on fire")
    failing, _ = heartbeat_run(exercise, fails=message)
    failing.expect_finished(FINALLY_HELP)
    raised = failing.raised or {}
    if raised.get("type") in ("ExceptionGroup", "BaseExceptionGroup"):
        raise Failure(
            f"func raised JobFailed({message!r}), but run_with_heartbeat raised {raised.get('message')}: "
            "func's error came out wrapped",
            GROUP_HELP,
            source=source_of(raised.get("source")) or failing.definition(),
        )
    failing.expect_ran(expected_raise=True)
    if failing.job_failed is None:
        raise Failure(
            f"func raised JobFailed, but run_with_heartbeat returned {failing.result!r}: the error never reached the caller",
            SWALLOWED_HELP,
            source=failing.definition(),
        )
    expect(
        failing.job_failed == f"JobFailed: {message}",
        f"func raised JobFailed({message!r}), but run_with_heartbeat raised {failing.job_failed}",
        SWALLOWED_HELP,
        source=failing.definition(),
    )
    failing.expect_stopped(FINALLY_HELP, "raised func's error")


def hash_run(exercise: Subject, files: int, limit: int) -> tuple[Outcome, dict[str, str]]:
    names = ["notes", "photo", "backup", "thesis", "song", "scan", "invoice"][:files]
    values = {f"{token(name)}.bin": token("sha") for name in names}
    return Outcome(exercise, "hash_files", "hasher", values=values, limit=limit, ticks=TICKS), values


@check("hash_together")
def check_hash_together(exercise: Subject) -> None:
    run, values = hash_run(exercise, TOGETHER_FILES, TOGETHER_LIMIT)
    run.expect_finished()
    run.expect_ran()
    hashed = [call["args"][0] if len(call["args"]) == 1 else call["args"] for call in run.calls]
    missing = [path for path in values if path not in hashed]
    twice = sorted({str(path) for path in hashed if hashed.count(path) > 1})
    if missing or twice or len(hashed) != len(values):
        what = f"{len(missing)} of the {len(values)} paths were never hashed" if missing else f"{twice[0]} was hashed {hashed.count(twice[0])} times" if twice else "hasher was called with other arguments than one path"
        raise Failure(what, EACH_PATH_HELP, source=source_of(run.calls[0]["site"]) or run.waiting_at)
    run.expect_off_loop()
    limit = TOGETHER_LIMIT
    if run.max_in_flight < limit:
        raise Failure(
            f"hash_files ran the hasher on one file at a time, though limit={limit} allowed {limit} at once"
            if run.max_in_flight == 1
            else f"at most {run.max_in_flight} hashers ran at once, though limit={limit} allowed {limit}",
            SEQUENTIAL_HELP if run.max_in_flight == 1 else FEWER_HELP,
            source=run.waiting_at or run.definition(),
        )
    result = run.result
    if not isinstance(result, dict):
        raise Failure(f"hash_files returned {result!r}, not a dict from each path to its digest", DICT_HELP, source=run.waiting_at)
    if result != values:
        swapped = next((path for path in values if result.get(path) in values.values() and result.get(path) != values[path]), None)
        if swapped is not None:
            raise Failure(
                f"hash_files paired {swapped} with {result[swapped]!r}, the digest of another file; hasher({swapped!r}) "
                f"returned {values[swapped]!r}",
                MAPPING_HELP,
                source=run.waiting_at,
            )
        raise Mismatch("{<path>: <what hasher(path) returned>, ...}", result, DICT_HELP, what="hash_files() to return", source=run.waiting_at)


@check("hash_limit")
def check_hash_limit(exercise: Subject) -> None:
    run, _ = hash_run(exercise, LIMIT_FILES, LIMIT)
    run.expect_finished()
    run.expect_ran()
    most = max(run.max_in_flight, run.max_runnable)
    pools = f": the hashers ran in {run.pools} thread pools, and a pool's max_workers bounds only its own jobs" if run.pools > 1 else ""
    expect(
        most <= LIMIT,
        f"hash_files let {most} hashers run at once; limit={LIMIT} allows at most {LIMIT}{pools}",
        POOL_PER_CALL_HELP if pools else LIMIT_HELP,
        source=run.waiting_at or run.definition(),
    )
