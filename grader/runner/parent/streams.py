"""The parent's side of one submission's run: its pipes, drained continuously, into raw outcomes.

Each exercise gets two pipes: one for check results (JSON lines with the run's secret)
and one for whatever the student's code prints; each worker gets a news pipe of its own.
A thread drains each pipe continuously, so a submission that prints a gigabyte neither
fills memory (only the first ``limits.output_bytes`` are kept) nor stalls on a full pipe;
threads also work on Windows, where pipes cannot be polled.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from pathlib import Path

from grader.kit import ExerciseSpec
from grader.runner import channels
from grader.runner.limits import Limits
from grader.runner.parent import sandbox
from grader.runner.protocol import (
    ExerciseEnded,
    ExerciseJob,
    JudgeStarted,
    RawOutcome,
    WorkerNews,
    parse_news,
    parse_result,
)

RESULT_BYTES_LIMIT = 1 << 20
STARTUP_SECONDS = 10.0
CHUNK = 65536
LINGER_SECONDS = 0.5
# The report claims "cpu/memory/file-size limits" only where every check process set all three
# (macOS refuses RLIMIT_AS, Windows has none).
RLIMITS_CLAIMED = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE")


@dataclasses.dataclass
class Run:
    """Every exercise's raw outcome, and how the run was protected."""

    outcomes: dict[str, RawOutcome]
    sandbox: str
    protections: list[str]


@dataclasses.dataclass
class _Stream:
    exercise_id: str
    kind: str  # "result" | "output" | "worker"
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    news: list[WorkerNews] = dataclasses.field(default_factory=list)  # a worker's own reports


class RunPipes:
    """Every pipe of one submission's run; the parent reads, the worker's side writes."""

    def __init__(self, exercises: list[tuple[ExerciseSpec, Path]], limits: Limits) -> None:
        self.outcomes = {spec.id: RawOutcome() for spec, _ in exercises}
        self.readers: list[tuple[int, _Stream]] = []
        self.write_ends: list[int] = []
        self.jobs: list[ExerciseJob] = []
        self.pumping = False
        self.clean = False
        for spec, file in exercises:
            result_r, result_w, result_id = channels.pipe()
            output_r, output_w, output_id = channels.pipe()
            self.readers += [(result_r, _Stream(spec.id, "result")), (output_r, _Stream(spec.id, "output"))]
            self.write_ends += [result_w, output_w]
            timeout = limits.timeout or spec.timeout
            self.jobs.append(ExerciseJob(spec.id, file, spec.checks_file, spec.probes_file, spec.checks, result_id, output_id, timeout))

    def news_pipe(self) -> int:
        """A new pipe on which a worker reports how its check processes ended; its write end."""
        read_fd, write_fd = os.pipe()
        self.readers.append((read_fd, _Stream("", "worker")))
        self.write_ends.append(write_fd)
        return write_fd

    def deadline(self, rounds: int) -> float:
        """When the whole run must be over: a startup allowance plus ``rounds`` exercise limits."""
        return time.monotonic() + STARTUP_SECONDS + rounds * max(job.timeout for job in self.jobs)

    def close_write_ends(self) -> None:
        """Once the worker holds its copies: a pipe reports EOF once every writer is gone.

        Each descriptor is closed once: its number may belong to another thread's pipe next.
        """
        channels.close_quietly(*self.write_ends)
        self.write_ends = []

    def collect(self, token: str, limits: Limits, deadline: float) -> bool:
        """Take everything until the workers are done (True) or the deadline passes (False).

        Afterwards :attr:`clean` says whether every pipe closed: one still open is held by a
        process the submission left behind, and its reader stops at the next chunk.
        """
        self.pumping = True
        finished, self.clean = _pump(self.readers, self.outcomes, token, limits, deadline)
        return finished

    def close(self) -> None:
        """Close what the pump did not take over (it owns the read ends once it runs)."""
        self.close_write_ends()
        if not self.pumping:
            channels.close_quietly(*(fd for fd, _ in self.readers))
            self.readers = []

    def mark_overdue(self) -> None:
        """The outer limit struck: every exercise that had not ended ran out of time."""
        for job in self.jobs:
            outcome = self.outcomes[job.exercise_id]
            if outcome.ended is None:
                outcome.ended = ExerciseEnded(job.exercise_id, "timeout", limit=job.timeout)

    def heard_from_worker(self) -> bool:
        """Whether the worker said anything at all (it speaks before it starts any check process)."""
        return any(stream.news for _, stream in self.readers if stream.kind == "worker") or any(
            outcome.ended or outcome.records for outcome in self.outcomes.values()
        )

    def applied(self) -> sandbox.Applied:
        """What every worker and check process said it put in place (a layer counts only if all did)."""
        starts: list[JudgeStarted] = [r for outcome in self.outcomes.values() for r in outcome.of_kind(JudgeStarted)]
        news = [record for _, stream in self.readers if stream.kind == "worker" for record in stream.news]
        return sandbox.Applied(
            left_root=bool(news) and all(record.left_root for record in news),
            rlimits=bool(starts) and all(set(RLIMITS_CLAIMED) <= set(r.rlimits) for r in starts),
            process_cap_by_user=bool(starts) and all(r.process_cap_by_user for r in starts),
        )


def _pump(
    readers: list[tuple[int, _Stream]],
    outcomes: dict[str, RawOutcome],
    token: str,
    limits: Limits,
    deadline: float,
) -> tuple[bool, bool]:
    """Take every chunk until all pipes close or the deadline passes: (workers done, all closed).

    Once every worker is done, pipes still open are held only by processes the
    submission left behind; they get :data:`LINGER_SECONDS`, not the whole deadline.
    """
    chunks: queue.Queue[tuple[_Stream, bytes]] = queue.Queue()
    over = threading.Event()
    for fd, stream in readers:
        threading.Thread(target=_drain, args=(fd, stream, chunks, over), daemon=True).start()
    open_pipes = len(readers)
    workers = sum(stream.kind == "worker" for _, stream in readers)
    try:
        while open_pipes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return not workers, False
            try:
                stream, chunk = chunks.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if chunk:
                _take(stream, chunk, outcomes, token, limits)
                continue
            open_pipes -= 1
            _flush_lines(stream, outcomes, token, final=True)
            if stream.kind == "worker":
                workers -= 1
                if not workers:
                    deadline = min(deadline, time.monotonic() + LINGER_SECONDS)
        return True, True
    finally:
        over.set()


def _drain(fd: int, stream: _Stream, chunks: queue.Queue[tuple[_Stream, bytes]], over: threading.Event) -> None:
    """Read one pipe to its end, or until the pump is over; the empty chunk says it closed.

    Owns (and closes) ``fd``: a writer that outlives the run then gets a broken pipe,
    and nothing it writes piles up here.
    """
    with open(fd, "rb", buffering=0) as pipe:
        while not over.is_set() and (chunk := pipe.read(CHUNK)):
            chunks.put((stream, chunk))
    chunks.put((stream, b""))


def _take(stream: _Stream, chunk: bytes, outcomes: dict[str, RawOutcome], token: str, limits: Limits) -> None:
    if stream.kind == "output":
        outcome = outcomes[stream.exercise_id]
        room = limits.output_bytes - len(outcome.output)
        outcome.output += chunk[: max(room, 0)]
        outcome.output_truncated |= len(chunk) > room
        return
    if stream.kind == "result":
        outcome = outcomes[stream.exercise_id]
        outcome.result_bytes += len(chunk)
        if outcome.result_bytes > RESULT_BYTES_LIMIT:
            outcome.forged_lines += 1
            return
    stream.buffer += chunk
    _flush_lines(stream, outcomes, token, final=False)


def _flush_lines(stream: _Stream, outcomes: dict[str, RawOutcome], token: str, final: bool) -> None:
    *lines, rest = stream.buffer.split(b"\n")
    stream.buffer = bytearray(rest)
    if final and rest:
        lines.append(rest)
    for line in lines:
        if line.strip():
            _accept(stream, bytes(line), outcomes, token)


def _accept(stream: _Stream, line: bytes, outcomes: dict[str, RawOutcome], token: str) -> None:
    if stream.kind == "worker":
        news = parse_news(line)
        if isinstance(news, ExerciseEnded) and news.exercise in outcomes:
            outcomes[news.exercise].ended = news
        elif isinstance(news, WorkerNews):
            stream.news.append(news)
        return
    outcome = outcomes[stream.exercise_id]
    record = parse_result(line, token)
    if record is None:
        outcome.forged_lines += 1
        return
    outcome.records.append(record)
