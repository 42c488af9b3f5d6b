"""Hidden checks for 10_sync: deposits on the judge's slow store, and workers released by the judge's event.

The lock checks start several deposits to one account at once, each in a task of its
own. The store's read and write each take a time the judge picks afresh (the write the
longer), so without a lock held from before the read until after the write, two deposits
always interleave: the second reads the balance while the first is between its read and
its write, and one update is lost. The evidence is the store's own log of reads and
writes on the virtual clock, never the student's word; balances and amounts are new on
every call, so no result can be written down in advance.

The event checks hand ``start_together`` the recording worker and a ``go`` event that the
probe sets at a moment the judge picks (a time no polling step lands on), and see when
every worker started against that moment, who was waiting in ``go.wait()`` then, and
who polled or set ``go``.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from grader.checking import (
    Failure,
    StudentRaised,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.checking.raised import explain
from grader.model import SourceRef, Span

FUNCTIONS = {"Account": "defined", "start_together": "coroutine function"}
DEADLINE = 30.0  # virtual seconds: far beyond every deposit done one at a time
ACCOUNT_NAMES = "AB"
JOBS = [("C", 0.5), ("A", 0.75), ("B", 0.25)]  # job order C A B; sorted A B C; finishing order B C A
NAMES = [name for name, _ in JOBS]
TAKES = {"C": 0.75, "A": 1.0, "B": 0.5}  # each job takes longer than its delay: no fixed wait ends with them
COMPLETION_ORDER = sorted(NAMES, key=TAKES.__getitem__)

rng = random.SystemRandom()

THREAD_LOCK_HELP = (
    "Use asyncio.Lock (`self.lock = asyncio.Lock()`, then `async with self.lock:`): a waiting task then waits without "
    "blocking the loop. A threading lock is for threads, and every task runs in the event loop's one thread."
)
PLAIN_WITH_HELP = (
    "An asyncio.Lock is taken with `async with self.lock:` (or `await self.lock.acquire()`): a plain `with` cannot "
    "wait for the lock, so asyncio.Lock does not support it."
)
NEVER_AWAITED_HELP = (
    "The store's read() and write() are coroutine functions: calling one only makes a coroutine, and nothing is read or "
    "written until it is awaited. Write `balance = await self.store.read()` and `await self.store.write(new_balance)`."
)
HANG_HELP = (
    "Something waits for ever: a lock that is taken twice, or never released, makes every later deposit wait for it. "
    "Take the lock once per deposit, with `async with self.lock:`."
)
NO_WRITE_HELP = "After adding, write the new balance back: `await self.store.write(new_balance)`."
READ_ADD_WRITE_HELP = (
    "Read the balance with `balance = await self.store.read()`, write `balance + amount` back with "
    "`await self.store.write(...)`: the store holds the balance, not the account."
)
RETURN_HELP = "Return the new balance, the one you wrote to the store: `return new_balance`."
NO_LOCK_HELP = (
    "Give the account one asyncio.Lock, made in __init__ (`self.lock = asyncio.Lock()`), and do the whole read, add and "
    "write inside `async with self.lock:`: a second deposit then waits until the first has written."
)
LOCK_PER_CALL_HELP = (
    "A lock made inside deposit is a new lock on every call: no two deposits ever share one, so it excludes nobody. "
    "Make it once, in __init__ (`self.lock = asyncio.Lock()`), and take that same lock in every deposit."
)
WIDE_SEMAPHORE_HELP = (
    "Only one deposit at a time may be between its read and its write: use `asyncio.Lock()`, which lets one task in, "
    "not a Semaphore with more than one slot."
)
NARROW_LOCK_HELP = (
    "Hold the lock across the whole read → add → write: put `balance = await self.store.read()` and the write both "
    "inside one `async with self.lock:` block. A lock around only one of them lets another deposit read the old "
    "balance in between."
)
RETURNED_OTHER_HELP = (
    "Return the balance this deposit wrote, computed inside the lock; a balance read again after the lock is released "
    "may already include other deposits."
)
RELEASE_HELP = (
    "Release the lock even when the body raises: `async with self.lock:` does it for you; with "
    "`await self.lock.acquire()`, put `self.lock.release()` in the `finally:` of a try around the body."
)
LET_THROUGH_HELP = (
    "Don't catch the store's exception in deposit: let it go on to the caller, unchanged (the lock is still released "
    "if you use `async with self.lock:`, or release it in a `finally:`)."
)
FAILED_CHANGES_HELP = (
    "A deposit whose write failed must change nothing: don't write again or undo other deposits; just let the error out."
)
PER_ACCOUNT_HELP = (
    "Give every Account its own lock, made in __init__ (`self.lock = asyncio.Lock()`), not one at module level or as a "
    "class attribute: deposits to different accounts then never wait for each other. (A module-level lock is also "
    "bound to the first event loop that waits on it, and fails under the next asyncio.run().)"
)
NEVER_CALLED_HELP = "Call the `worker` you are given for every job, in its task, once `go` is set; don't build the results yourself."
EVERY_JOB_HELP = "Start one task for every `(name, delay)` in `jobs`, and in each call `worker(name, delay)` once."
RESULT_ORDER_HELP = "asyncio.gather returns the results in the order of its arguments: return them as gather gives them."
SORTED_HELP = "Return the results in the order of `jobs`, as the workers returned them: don't sort them."
JOB_ORDER_HELP = "Return the results in the order of `jobs`: the result of `jobs[i]` at index i."
MADE_UP_HELP = "Return what each `await worker(name, delay)` gave you: the checks' workers return values you cannot guess."
DONT_SET_HELP = (
    "Don't call go.set() in start_together: whoever called it sets `go` when it is time to start. Your tasks only "
    "`await go.wait()`."
)
WAIT_HELP = (
    "In each task, `await go.wait()` first and call the worker only after it: go.wait() keeps the task parked until "
    "go is set."
)
POLL_HELP = (
    "Wait with `await go.wait()` instead of polling go.is_set(): it wakes every waiting task the very moment go is set, "
    "while a poll with asyncio.sleep wakes late and spends turns of the loop on asking."
)
SPIN_HELP = (
    "A loop that asks go.is_set() with no real wait in between never lets the clock move on, so the moment go would be "
    "set never comes. Use `await go.wait()`."
)
UNAWAITED_WAIT_HELP = (
    "go.wait() is a coroutine: calling it without `await` only makes a coroutine object, and the task goes straight "
    "on. Write `await go.wait()`."
)
LATE_HELP = "Call the worker right after `await go.wait()` returns: nothing else should come between the signal and the start."
START_TASKS_HELP = (
    "Start a task for every job before go is set, each doing `await go.wait()` and then the worker: go.set() wakes "
    "every waiting task at once, and that is what starts them together. Waiting once in start_together and then "
    "starting the workers is not the same: the workers were not ready and waiting."
)
AWAIT_IN_LOOP_HELP = (
    "Start every task before awaiting any (asyncio.gather of the task coroutines, or create_task in a loop and gather "
    "after it): the workers then all start the moment go is set, not one after another."
)
RETURNED_EARLY_HELP = "Return only once every worker has finished: await the tasks (gather them) before returning."
FIXED_WAIT_HELP = (
    "Wait for the tasks themselves (`await asyncio.gather(...)`), not for a fixed time: the workers may take longer "
    "than their delays, and start_together should return the moment the last one ends."
)


def amounts(count: int) -> list[int]:
    """``count`` different amounts, none a multiple of 10 (so a sum shows which ones it holds)."""
    return rng.sample([n for n in range(11, 99) if n % 10], count)


def times() -> tuple[float, float]:
    """A read time and a longer write time, new on every call: no deposit can be timed to miss another."""
    read = rng.randint(10, 30) / 100
    return read, round(read + rng.randint(10, 30) / 100, 2)


def ref(data: dict[str, Any] | None) -> SourceRef | None:
    return SourceRef.from_json(data) if data else None


class Deposits:
    """One call of the ``deposits`` probe: the planned deposits, what each did, and the store's log."""

    def __init__(self, exercise: Subject, plan: list[tuple[int, int]], accounts: int = 1, fail: int | None = None) -> None:
        require(exercise, "Account", "defined")
        self.file_name = exercise.file_name
        self.plan, self.fail = plan, fail
        self.balances = [rng.randint(100, 999) for _ in range(accounts)]
        self.read, self.write = times()
        self.error = f"the store went offline ({secrets.token_hex(3)})"
        evidence = exercise.call(
            "deposits",
            balances=self.balances,
            plan=[list(step) for step in plan],
            read=self.read,
            write=self.write,
            fail=fail,
            error=self.error,
            deadline=DEADLINE,
        )
        self.blocking = exercise.blocking
        kind = evidence.get("deposit_kind")
        if kind == "missing":
            raise Failure(
                "`Account` has no method `deposit`: the checks call `account.deposit(amount)`",
                "Keep the stub's `async def deposit(self, amount)` inside `class Account`.",
            )
        if kind != "coroutine function":
            raise Failure(
                "`Account.deposit` is a plain function, not a coroutine function",
                "Define it with `async def deposit(self, amount)`: it awaits the store's read and write.",
                source=ref(evidence.get("defined_at")),
            )
        self.outcomes: list[dict[str, Any]] = evidence["deposits"]
        self.log: list[dict[str, Any]] = evidence["log"]
        self.final: list[Any] = evidence["balances"]
        self.never_awaited: list[dict[str, Any]] = evidence["never_awaited"]
        self.locks: list[dict[str, Any]] = evidence["locks"]
        self.made_in_deposit: list[dict[str, Any]] = evidence["made_in_deposit"]
        self.thread_blocked: list[dict[str, Any]] = evidence["thread_blocked"]
        self.accounts = accounts

    # What the plan was ----------------------------------------------------------------------------------------------

    def label(self, index: int) -> str:
        which, amount = self.plan[index]
        return f"{ACCOUNT_NAMES[which]} +{amount}" if self.accounts > 1 else f"+{amount}"

    def amounts_of(self, account: int) -> list[int]:
        return [amount for which, amount in self.plan if which == account]

    def listed(self, account: int = 0) -> str:
        return ", ".join(f"+{amount}" for amount in self.amounts_of(account))

    # What the store saw ---------------------------------------------------------------------------------------------

    def ops(self, index: int, op: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e["deposit"] == index and e["op"] == op]

    def spans(self) -> list[Span]:
        spans = []
        for entry in self.log:
            if entry["deposit"] is None or entry["start"] is None:
                continue
            end = entry["end"] if entry["end"] is not None else entry["start"]
            spans.append(Span(f"{self.label(entry['deposit'])} {entry['op']}", entry["start"], end))
        return spans

    # The failures every lock check reads first ----------------------------------------------------------------------

    def expect_ran(self, *, store_error_expected: bool = False) -> None:
        """Nothing froze, crashed or hung on the way: a threading lock, a store call never awaited, an exception."""
        if self.thread_blocked:
            blocked = self.thread_blocked[0]
            site = ref(blocked.get("site"))
            who = self.label(blocked["deposit"]) if blocked.get("deposit") is not None else "a deposit"
            at = f" at line {site.line}" if site else ""
            raise Failure(
                f"deposit {who} asked for {blocked['kind']} {blocked['name']}{at} (t={blocked['at']:g} s) while another "
                "deposit held it across an await: a threading lock blocks the whole thread, and every task runs in the "
                "event loop's one thread, so the loop would freeze there for ever (a deadlock)",
                THREAD_LOCK_HELP,
                source=site,
            )
        if self.never_awaited:
            first = self.never_awaited[0]
            site = ref(first.get("site"))
            at = f"line {site.line} calls" if site else "deposit calls"
            raise Failure(
                f"{at} self.store.{first['op']}(...) but never awaits the coroutine it returns: nothing was "
                f"{'read' if first['op'] == 'read' else 'written'}",
                NEVER_AWAITED_HELP,
                source=site,
            )
        for index, outcome in enumerate(self.outcomes):
            raised = outcome.get("raised")
            if raised and not (store_error_expected and index == self.fail):
                error = StudentRaised(raised)
                if error.type == "TypeError" and "context manager protocol" in error.message:
                    threaded = "asynchronous" in error.message
                    raise Failure(
                        f"deposit {self.label(index)} raised {error.python_says}",
                        THREAD_LOCK_HELP if threaded else PLAIN_WITH_HELP,
                        source=error.source,
                    )
                raise student_failure(raised, self.file_name)
        for index, outcome in enumerate(self.outcomes):
            if outcome.get("pending") and not store_error_expected:
                site = ref(outcome.get("waiting_at"))
                at = f": it was still waiting at line {site.line}" if site else ""
                raise Failure(
                    f"deposit {self.label(index)} had not returned after {DEADLINE:g} s of event-loop time{at}",
                    HANG_HELP,
                    timeline=self.spans(),
                    source=site,
                )

    # Lost updates ---------------------------------------------------------------------------------------------------

    def stale_read(self, account: int) -> tuple[int, int] | None:
        """``(first, second)``: deposit ``second`` read the balance while ``first`` was between its read and its write."""
        pairs = []
        for first in range(len(self.plan)):
            reads, writes = self.ops(first, "read"), self.ops(first, "write")
            if self.plan[first][0] != account:
                continue
            if not reads or not writes:
                continue
            begun, written = reads[0]["start"], writes[-1]["end"] if writes[-1]["end"] is not None else DEADLINE
            for second in range(len(self.plan)):
                if second == first or self.plan[second][0] != self.plan[first][0]:
                    continue
                for read in self.ops(second, "read"):
                    if read["end"] is not None and begun <= read["start"] and read["end"] < written:
                        pairs.append((read["end"], first, second))
        return min(pairs)[1:] if pairs else None

    def lost_update(self, account: int = 0) -> Failure:
        """Why the balance of ``account`` is short: the two deposits that overlapped, and the likely mistake."""
        start, planned = self.balances[account], self.amounts_of(account)
        expected = start + sum(planned)
        whose = f"account {ACCOUNT_NAMES[account]}'s balance" if self.accounts > 1 else "a balance"
        said = (
            f"{len(planned)} deposits ({self.listed(account)}) started together on {whose} of {start}; "
            f"the store ended at {self.final[account]}, not {expected}"
        )
        lost = lost_amounts(planned, self.final[account] - start if isinstance(self.final[account], int) else None)
        if lost:
            said += f": the deposit{'s' if len(lost) > 1 else ''} of {' and '.join(f'+{a}' for a in lost)} {'were' if len(lost) > 1 else 'was'} lost"
        pair = self.stale_read(account)
        if pair is None:
            return Failure(said, READ_ADD_WRITE_HELP, timeline=self.spans())
        first, second = pair
        read = self.ops(second, "read")[0]
        written = self.ops(first, "write")[-1]
        said += (
            f". Deposit {self.label(second)} read the balance ({read['value']}, at t={read['end']:g} s) while deposit "
            f"{self.label(first)} was between its read (from t={self.ops(first, 'read')[0]['start']:g} s) and its write "
            f"({'done at t=' + format(written['end'], 'g') + ' s' if written['end'] is not None else 'never finished'}): "
            "the later of their two writes wiped out the other's update"
        )
        help, source = NO_LOCK_HELP, ref(read.get("site"))
        wide = next((lock for lock in self.locks if (lock.get("slots") or 0) > 1), None)  # a semaphore of several slots
        if any(lock["kind"].startswith("threading.") for lock in self.locks):
            help = THREAD_LOCK_HELP
        elif wide is not None:
            said += f"; {wide['kind']} `{wide['name']}` has {wide['slots']} slots, so {wide['slots']} deposits hold it at once"
            help, source = WIDE_SEMAPHORE_HELP, ref(wide.get("line")) or source
        elif self.made_in_deposit and not any(lock["kind"].startswith("asyncio.") for lock in self.locks):
            help, source = LOCK_PER_CALL_HELP, ref(self.made_in_deposit[0]["line"])
        elif self.locks or self.made_in_deposit:
            help = NARROW_LOCK_HELP
            if not self.reads_overlap(account):  # the reads are locked: the write is the part left out
                source = ref(written.get("site")) or source
        return Failure(said, help, timeline=self.spans(), source=source)

    def reads_overlap(self, account: int) -> bool:
        reads = [e for e in self.log if e["op"] == "read" and e["account"] == account and e["end"] is not None]
        return any(a is not b and a["start"] < b["end"] and b["start"] < a["end"] for a in reads for b in reads)


def lost_amounts(planned: list[int], gained: int | None) -> list[int]:
    """The deposits missing from what the balance gained, when exactly one set of them is missing."""
    if gained is None:
        return []
    found = [
        [amount for bit, amount in enumerate(planned) if not mask >> bit & 1]
        for mask in range(1 << len(planned))
        if sum(amount for bit, amount in enumerate(planned) if mask >> bit & 1) == gained
    ]
    return found[0] if len(found) == 1 else []


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


@check("deposit_result")
def check_deposit_result(exercise: Subject) -> None:
    (amount,) = amounts(1)
    run = Deposits(exercise, [(0, amount)])
    run.expect_ran()
    balance, expected = run.balances[0], run.balances[0] + amount
    writes = run.ops(0, "write")
    expect(
        bool(writes),
        f"deposit(+{amount}) never wrote to the store: the balance is still {run.final[0]}",
        NO_WRITE_HELP,
        timeline=run.spans(),
    )
    never_read = "" if run.ops(0, "read") else ", without ever reading the balance from it"
    expect(
        run.final[0] == expected,
        f"deposit(+{amount}) on a balance of {balance} wrote {writes[-1]['value']!r} to the store{never_read}; expected "
        f"{expected} (the balance in the store, plus the amount)",
        READ_ADD_WRITE_HELP,
        timeline=run.spans(),
        source=ref(writes[-1].get("site")),
    )
    result = run.outcomes[0].get("result")
    expect(
        result == expected,
        f"deposit(+{amount}) on a balance of {balance} returned {result!r}; the new balance is {expected}",
        RETURN_HELP,
    )
    expect_no_blocking(run.blocking)


@check("no_lost_updates")
def check_no_lost_updates(exercise: Subject) -> None:
    run = Deposits(exercise, [(0, amount) for amount in amounts(3)])
    run.expect_ran()
    expected = run.balances[0] + sum(run.amounts_of(0))
    if run.final[0] != expected:
        raise run.lost_update()
    for index, outcome in enumerate(run.outcomes):
        writes = run.ops(index, "write")
        wrote = writes[-1]["value"] if writes else None
        expect(
            outcome.get("result") == wrote,
            f"deposit {run.label(index)} wrote {wrote!r} to the store but returned {outcome.get('result')!r}",
            RETURNED_OTHER_HELP,
            timeline=run.spans(),
        )


@check("releases_on_error")
def check_releases_on_error(exercise: Subject) -> None:
    run = Deposits(exercise, [(0, amount) for amount in amounts(3)], fail=1)
    run.expect_ran(store_error_expected=True)
    failing = run.outcomes[1]
    failed_write = next((e for e in run.log if e["failed"]), None)
    when = f" (t={failed_write['end']:g} s)" if failed_write else ""
    for index, outcome in enumerate(run.outcomes):
        if outcome.get("pending"):
            site = ref(outcome.get("waiting_at"))
            at = f" at line {site.line}" if site else ""
            raise Failure(
                f"the write of deposit {run.label(1)} raised ConnectionError{when}; deposit {run.label(index)} was still "
                f"waiting{at} when the checks gave up, at t={DEADLINE:g} s: the failed deposit never released the lock",
                RELEASE_HELP,
                timeline=run.spans(),
                source=site,
            )
    raised = failing.get("raised")
    if raised is None:
        raise Failure(
            f"the write of deposit {run.label(1)} raised ConnectionError{when}, but deposit {run.label(1)} returned "
            f"{failing.get('result')!r}: the store's error was swallowed",
            LET_THROUGH_HELP,
        )
    if not failing.get("store_error"):
        error = StudentRaised(raised)
        made_from = failing.get("made_from_store_error")
        if not made_from and run.error not in error.message and error.type != "ConnectionError":
            raise student_failure(raised, run.file_name)
        raise Failure(
            f"the write of deposit {run.label(1)} raised ConnectionError{when}, but deposit {run.label(1)} raised "
            f"{error.message}{', made from it,' if made_from else ''} instead of letting the store's own exception through",
            LET_THROUGH_HELP,
            source=error.source,
        )
    expected = run.balances[0] + run.plan[0][1] + run.plan[2][1]
    expect(
        run.final[0] == expected,
        f"deposits {run.listed()} on a balance of {run.balances[0]}, the write of {run.label(1)} failing: the store ended "
        f"at {run.final[0]}, not {expected} (the two deposits that went through)",
        FAILED_CHANGES_HELP,
        timeline=run.spans(),
    )


@check("lock_per_account")
def check_lock_per_account(exercise: Subject) -> None:
    a, b = amounts(2), amounts(2)
    run = Deposits(exercise, [(0, a[0]), (1, b[0]), (0, a[1]), (1, b[1])], accounts=2)
    run.expect_ran()
    for account in (0, 1):
        if run.final[account] != run.balances[account] + sum(run.amounts_of(account)):
            raise run.lost_update(account)
    one = round(run.read + run.write, 6)
    end = max((e["end"] for e in run.log if e["end"] is not None), default=0.0)
    b_read = run.ops(1, "read")
    if end > 2 * one + 1e-6 and b_read and b_read[0]["start"] > 0:
        shared = next((lock for lock in run.locks if lock["where"] != "instance" and lock["kind"].startswith("asyncio.")), None)
        kept = ""
        if shared:
            made = "at module level" if shared["where"] == "module" else "once for the whole class"
            kept = f": {shared['name']}, an {shared['kind']} made {made}"
        raise Failure(
            f"deposits to account B waited for those to account A: B's first read began at t={b_read[0]['start']:g} s, "
            f"not t=0, and the four deposits ended at t={end:g} s instead of t={2 * one:g} s. Every account takes the "
            f"same lock{kept}",
            PER_ACCOUNT_HELP,
            timeline=run.spans(),
            source=ref(shared.get("line")) if shared else None,
        )


class Together:
    """One call of start_together, with go set by the probe at a moment the judge picked."""

    def __init__(self, exercise: Subject) -> None:
        require(exercise, "start_together", "coroutine function")
        self.file_name = exercise.file_name
        self.values = {job: f"{job}-{secrets.token_hex(3)}" for job in NAMES}
        self.expected = [self.values[job] for job in NAMES]
        # A moment no polling step of 0.1 s or 0.01 s (or their sums) lands on.
        self.set_at = 1 + rng.choice([n for n in range(101, 900) if n % 10]) / 1000
        evidence = exercise.call(
            "together",
            jobs=[list(job) for job in JOBS],
            values=self.values,
            durations=TAKES,
            set_at=self.set_at,
            deadline=self.set_at + 20,
        )
        self.blocking = exercise.blocking
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.returned_at = float(evidence["returned_at"])
        self.timeline = Timeline(evidence["timeline"])
        self.parked = int(evidence["parked"])
        self.caller_parked = bool(evidence["caller_parked"])
        self.waits: list[dict[str, Any]] = evidence["waits"]
        self.polls = int(evidence["polls"])
        self.poll_site = ref(evidence.get("poll_site"))
        self.spinning = bool(evidence["spinning"])
        self.sets: list[dict[str, Any]] = evidence["sets"]
        self.unawaited_waits = [SourceRef.from_json(site) for site in evidence["unawaited_waits"] if site]
        if self.spinning:
            at = f" at line {self.poll_site.line}" if self.poll_site else ""
            raise Failure(
                f"go.is_set() was asked thousands of times{at} without the event loop's clock moving on: "
                f"go, due to be set at t={self.set_at:g} s, never could be",
                SPIN_HELP,
                source=self.poll_site,
            )

    def spans(self) -> list[Span]:
        return [Span("go.set()", self.set_at, self.set_at), *self.timeline.spans()]

    def ran(self) -> list[str]:
        return [name for name in NAMES if name in self.timeline.calls]

    def expect_jobs_ran(self) -> None:
        timeline = self.timeline
        timeline.expect_every_job_awaited()
        if not timeline.calls and self.raised:
            raise student_failure(self.raised, self.file_name)
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        timeline.expect_clock_kept_forward()


@check("go_results")
def check_go_results(exercise: Subject) -> None:
    run = Together(exercise)
    run.expect_jobs_ran()
    if run.raised:
        raise student_failure(run.raised, run.file_name)
    timeline = run.timeline
    never = [name for name in NAMES if name not in timeline.calls]
    expect(
        not never,
        f"job {' and '.join(never)} never ran: start_together called the worker for {' and '.join(run.ran())} only",
        EVERY_JOB_HELP,
        source=timeline.first_call_site(),
    )
    again = [name for name in NAMES if timeline.calls.count(name) > 1]
    expect(
        not again,
        f"job {' and '.join(again)} ran more than once: each call of the worker runs the job again",
        EVERY_JOB_HELP,
        source=timeline.first_call_site(),
    )
    result = run.result
    if result == run.expected:
        return
    by_value = {value: job for job, value in run.values.items()}
    if isinstance(result, list) and sorted(map(str, result)) == sorted(run.expected):
        shown = [by_value[r] for r in result]
        help = SORTED_HELP if shown == sorted(NAMES) else RESULT_ORDER_HELP if shown == COMPLETION_ORDER else JOB_ORDER_HELP
        raise Failure(
            f"start_together returned the results of jobs {shown}, in that order; expected those of {NAMES}, "
            "the order of `jobs`",
            help,
        )
    raise Failure(
        f"start_together returned {result!r}; expected the workers' results in job order, {NAMES}",
        MADE_UP_HELP,
    )


@check("waits_for_go")
def check_waits_for_go(exercise: Subject) -> None:
    run = Together(exercise)
    if run.sets:
        first = run.sets[0]
        site = ref(first.get("site"))
        at = f"line {site.line} calls" if site else "start_together calls"
        raise Failure(
            f"{at} go.set() itself, at t={first['at']:g} s: the workers were released before the caller's signal "
            f"(due at t={run.set_at:g} s)",
            DONT_SET_HELP,
            timeline=run.spans(),
            source=site,
        )
    run.expect_jobs_ran()
    expect_no_blocking(run.blocking)
    started = run.timeline.started
    early = sorted((t, NAMES.index(name), name) for name, t in started.items() if t < run.set_at - 1e-9)
    if early:
        names = [name for _, _, name in early]
        who = f"worker {names[0]}" if len(names) == 1 else f"workers {', '.join(names[:-1])} and {names[-1]}"
        said = f"{who} started at t={early[0][0]:g} s, before go was set (t={run.set_at:g} s)"
        if run.unawaited_waits:
            site = run.unawaited_waits[0]
            raise Failure(
                f"{said}: line {site.line} calls go.wait() but never awaits it, so the task went straight on",
                UNAWAITED_WAIT_HELP,
                timeline=run.spans(),
                source=site,
            )
        raise Failure(said, WAIT_HELP, timeline=run.spans(), source=run.timeline.first_call_site())
    earliest = min(started.values())
    late = round(earliest - run.set_at, 6)
    expect(
        late <= 0,
        f"the first worker started at t={earliest:g} s, {late:g} s after go was set (t={run.set_at:g} s)"
        + (f": go.is_set() was polled {run.polls} times" if run.polls else ""),
        POLL_HELP if run.polls else LATE_HELP,
        timeline=run.spans(),
        source=run.poll_site or run.timeline.first_call_site(),
    )


@check("starts_together")
def check_starts_together(exercise: Subject) -> None:
    run = Together(exercise)
    run.expect_jobs_ran()
    timeline = run.timeline
    spans = run.spans()
    expect(
        len(run.ran()) > 1,
        f"only job {run.ran()[0] if run.ran() else timeline.calls[0]} ran, so there is no start of jobs together to judge",
        EVERY_JOB_HELP,
        source=timeline.first_call_site(),
    )
    expect_no_blocking(run.blocking)
    if run.raised and timeline.unfinished():
        # Cut short by its own exception: what the unfinished workers would have done is not known.
        expect_returned_when_jobs_ended(run)
    if timeline.sequential():
        raise Failure(
            f"after go was set (t={run.set_at:g} s), the workers ran one after another: {timeline.describe()}",
            AWAIT_IN_LOOP_HELP,
            timeline=spans,
            source=timeline.first_wait_site(),
        )
    first = min(timeline.started.values())
    apart = [name for name, t in timeline.started.items() if t > first + 1e-9]
    expect(
        not apart,
        f"the workers did not all start at once: {timeline.describe()}",
        AWAIT_IN_LOOP_HELP,
        timeline=spans,
        source=timeline.first_wait_site(),
    )
    jobs = len(NAMES)
    setter = run.sets[0] if run.sets else None
    parked, caller_parked = (setter["parked"], setter["caller_parked"]) if setter else (run.parked, run.caller_parked)
    if parked < jobs:
        waited = next((ref(w.get("site")) for w in run.waits if w.get("site")), None)
        source = waited or run.poll_site or timeline.first_call_site()
        if setter:
            site = ref(setter.get("site"))
            where = f"line {site.line}" if site else "start_together"
            said = (
                f"{where} set go at t={setter['at']:g} s, when "
                + (f"only {parked} of the {jobs} tasks" if parked else f"none of the {jobs} tasks")
                + " had reached go.wait(): go was set before the workers were waiting for it"
            )
            help, source = DONT_SET_HELP, site or source
        elif run.polls and not run.waits:
            said = f"none of the {jobs} tasks was waiting in go.wait() when go was set: they polled go.is_set()"
            help = POLL_HELP
        elif caller_parked:
            said = "start_together itself waited in go.wait(), and started the workers only after go was set"
            help = START_TASKS_HELP
        elif not run.waits or run.unawaited_waits:
            said = f"none of the {jobs} tasks was waiting in go.wait() when go was set: the workers had started already"
            help = UNAWAITED_WAIT_HELP if run.unawaited_waits else WAIT_HELP
            source = run.unawaited_waits[0] if run.unawaited_waits else source
        else:
            said = f"only {parked} of the {jobs} tasks were waiting in go.wait() when go was set"
            help = START_TASKS_HELP
        raise Failure(said, help, timeline=spans, source=source)
    expect_returned_when_jobs_ended(run)


def expect_returned_when_jobs_ended(run: Together) -> None:
    """start_together returns the moment its last worker ends: not before (one still running), not after."""
    timeline, returned = run.timeline, run.returned_at
    unfinished = timeline.unfinished()
    spans = [Span(s.name, s.start, returned) if s.name in unfinished else s for s in run.spans()]
    waited_at = next((timeline.waiting_site(name) for name in timeline.finished), None) or timeline.first_call_site()
    if unfinished:
        if run.raised:
            error = StudentRaised(run.raised)
            raise Failure(
                f"start_together raised {error.type} at t={returned:g} s, while job {unfinished[0]} was still running",
                explain(error)[1],
                timeline=spans,
                source=error.source,
            )
        raise Failure(
            f"start_together returned at t={returned:g} s while job {unfinished[0]} was still running",
            RETURNED_EARLY_HELP,
            timeline=spans,
            source=waited_at,
        )
    end = timeline.end()
    expect(
        returned <= end + 1e-6,
        f"start_together returned at t={returned:g} s, {returned - end:g} s after its last worker ended (t={end:g} s)",
        FIXED_WAIT_HELP,
        timeline=spans,
        source=waited_at,
    )
