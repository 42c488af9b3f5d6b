"""Every message that crosses a pipe or the job socket between the grader's processes.

Each message is a frozen dataclass, written by one side with its ``line()`` and read by
the other with the ``parse_…`` function beside it, so the two ends cannot drift apart:

* the **job** (parent → worker, the job socket): :class:`WorkerJob` with its
  :class:`ExerciseJob` entries and their pipes attached (:func:`send_job`,
  :func:`receive_job`);
* **news** (worker → parent, the job's news pipe): :class:`WorkerNews` once per job, then
  :class:`ExerciseEnded` for each exercise, however it ended;
* **the queue** (worker → judges, one pipe all the judges of a round read): each
  exercise's place in the round, a fixed-size record apiece (:func:`queue_records`,
  :func:`next_in_queue`), so a judge that is done takes the next exercise;
* **progress** (judge → worker, a pipe per judge): :class:`ExerciseTaken` as a judge
  takes an exercise and :class:`ExerciseChecked` once it is done, so the worker holds
  each exercise's time limit and knows which exercise a judge was on;
* **results** (judge → parent, a pipe per exercise, each line signed with the run's
  secret): :class:`JudgeStarted`, :class:`ChecksCollected`, :class:`CheckOutcome`,
  :class:`Violation`, :class:`JudgeEnded`.

The parent gathers what arrived for one exercise into a :class:`RawOutcome`, which the
verdict (:mod:`grader.verdict`) judges. Messages between the judge and the subject
processes are the subject's to parse, in a sandbox where no grader module but
:mod:`grader.subject` exists: they are described in :mod:`grader.subject.executor` and
:mod:`grader.subject.template`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any, Literal

from grader.kit import CheckSpec
from grader.runner.limits import Limits

# --- the job -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExerciseJob:
    """One exercise to check: the student's file, its check and probe files, and its two pipes."""

    exercise_id: str
    exercise_file: Path
    checks_file: Path
    probes_file: Path
    checks: tuple[CheckSpec, ...]
    result_fd: int
    output_fd: int
    timeout: float

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise_id": self.exercise_id,
            "exercise_file": str(self.exercise_file),
            "checks_file": str(self.checks_file),
            "probes_file": str(self.probes_file),
            "checks": [dataclasses.asdict(c) for c in self.checks],
            "result_fd": self.result_fd,
            "output_fd": self.output_fd,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExerciseJob:
        return cls(
            exercise_id=data["exercise_id"],
            exercise_file=Path(data["exercise_file"]),
            checks_file=Path(data["checks_file"]),
            probes_file=Path(data["probes_file"]),
            checks=tuple(CheckSpec(**{**c, "depends": tuple(c["depends"])}) for c in data["checks"]),
            result_fd=data["result_fd"],
            output_fd=data["output_fd"],
            timeout=data["timeout"],
        )


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """Everything one worker process checks: a submission's exercises, limits and the run's secret."""

    token: str
    workdir: Path
    exercises: tuple[ExerciseJob, ...]
    limits: Limits
    forbidden: tuple[Path, ...] = ()
    cap_processes_by_user: bool = False
    news_fd: int = 1

    def dumps(self) -> str:
        return json.dumps(
            {
                "token": self.token,
                "workdir": str(self.workdir),
                "exercises": [e.to_json() for e in self.exercises],
                "limits": self.limits.to_json(),
                "forbidden": [str(path) for path in self.forbidden],
                "cap_processes_by_user": self.cap_processes_by_user,
                "news_fd": self.news_fd,
            }
        )

    @classmethod
    def loads(cls, text: str) -> WorkerJob:
        data = json.loads(text)
        return cls(
            token=data["token"],
            workdir=Path(data["workdir"]),
            exercises=tuple(ExerciseJob.from_json(e) for e in data["exercises"]),
            limits=Limits.from_json(data["limits"]),
            forbidden=tuple(Path(p) for p in data["forbidden"]),
            cap_processes_by_user=data["cap_processes_by_user"],
            news_fd=data["news_fd"],
        )

    def pipes(self) -> list[int]:
        """Every pipe end the job names: its news pipe, then each exercise's result and output."""
        return [self.news_fd, *(fd for e in self.exercises for fd in (e.result_fd, e.output_fd))]

    def with_pipes(self, fds: list[int]) -> WorkerJob:
        """The same job naming ``fds`` (in :meth:`pipes` order): the numbers they arrived as."""
        news, *rest = fds
        exercises = tuple(
            dataclasses.replace(e, result_fd=rest[2 * i], output_fd=rest[2 * i + 1]) for i, e in enumerate(self.exercises)
        )
        return dataclasses.replace(self, news_fd=news, exercises=exercises)


HEADER = struct.Struct("!I")
MAX_PIPES = 253  # SCM_RIGHTS carries at most 253 descriptors per message on Linux


def send_job(channel: socket.socket, job: WorkerJob) -> None:
    """Send ``job`` with its pipes attached; the worker receives its own copies of them."""
    payload = job.dumps().encode()
    socket.send_fds(channel, [HEADER.pack(len(payload))], job.pipes())
    channel.sendall(payload)


def receive_job(channel: socket.socket) -> WorkerJob | None:
    """The next job, naming the pipes as this process received them; ``None`` once the parent is gone."""
    header, fds, _, _ = socket.recv_fds(channel, HEADER.size, MAX_PIPES)
    if not header:
        return None
    header += _receive_exactly(channel, HEADER.size - len(header))
    (size,) = HEADER.unpack(header)
    return WorkerJob.loads(_receive_exactly(channel, size).decode()).with_pipes(fds)


def _receive_exactly(channel: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            raise EOFError("the parent closed the job socket mid-job")
        data += chunk
    return bytes(data)


# --- news: worker → parent -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WorkerNews:
    """Said once per job, before any check process starts: how the worker itself is protected."""

    left_root: bool

    def line(self) -> bytes:
        return _line({"left_root": self.left_root})


@dataclasses.dataclass(frozen=True)
class ExerciseEnded:
    """How one exercise's check process ended: ``exit`` (with its code), ``signal``, or ``timeout``."""

    exercise: str
    how: Literal["exit", "signal", "timeout"]
    exit_code: int | None = None
    signal: int | None = None
    limit: float | None = None

    def line(self) -> bytes:
        fields = {"exit_code": self.exit_code, "signal": self.signal, "limit": self.limit}
        return _line({"exercise": self.exercise, "ended": self.how, **{k: v for k, v in fields.items() if v is not None}})


def parse_news(line: bytes) -> WorkerNews | ExerciseEnded | None:
    """A line of the news pipe, or ``None`` when it says nothing the parent knows."""
    data = _object(line)
    if data is None:
        return None
    if "exercise" in data and data.get("ended") in ("exit", "signal", "timeout"):
        return ExerciseEnded(
            str(data["exercise"]), data["ended"], _int(data.get("exit_code")), _int(data.get("signal")), _float(data.get("limit"))
        )
    if "left_root" in data:
        return WorkerNews(bool(data["left_root"]))
    return None


# --- progress: judge → worker ----------------------------------------------------------

QUEUE_RECORD_BYTES = 4  # one exercise's place in its round, as digits and a newline
PROGRESS_BYTES = 256  # a report is a short line: a longer one is none


def queue_records(count: int) -> bytes:
    """The queue for a round of ``count`` exercises: each place, in kit order, one record apiece.

    Records fit a pipe whole, and a pipe hands each read of one record to one reader, so
    judges reading the same pipe each take a different exercise.
    """
    return b"".join(f"{place:{QUEUE_RECORD_BYTES - 1}d}\n".encode() for place in range(count))


def next_in_queue(fd: int) -> int | None:
    """The place of the next exercise in the queue, or ``None`` once it is empty."""
    record = os.read(fd, QUEUE_RECORD_BYTES)
    return int(record) if len(record) == QUEUE_RECORD_BYTES else None


@dataclasses.dataclass(frozen=True)
class ExerciseTaken:
    """The judge took this exercise from the queue and is about to check it."""

    exercise_id: str

    def line(self) -> bytes:
        return f"{self.exercise_id} taken\n".encode()


@dataclasses.dataclass(frozen=True)
class ExerciseChecked:
    """The judge finished its exercise with ``exit_code``, and goes on to take the next."""

    exercise_id: str
    exit_code: int

    def line(self) -> bytes:
        return f"{self.exercise_id} {self.exit_code} on\n".encode()


def parse_progress(line: bytes) -> ExerciseTaken | ExerciseChecked | None:
    """A progress line, or ``None`` for any other line."""
    words = line.decode("ascii", "replace").split()
    if len(words) == 2 and words[1] == "taken":
        return ExerciseTaken(words[0])
    if len(words) == 3 and words[2] == "on" and words[1].isdigit() and len(words[1]) <= 3:
        return ExerciseChecked(words[0], int(words[1]))
    return None


# --- results: judge → parent, signed ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JudgeStarted:
    """The judge is about to run an exercise's checks, with these limits in force on itself."""

    pid: int
    rlimits: tuple[str, ...]
    process_cap_by_user: bool

    def fields(self) -> dict[str, Any]:
        return {"event": "start", "pid": self.pid, "rlimits": list(self.rlimits), "process_cap_by_user": self.process_cap_by_user}


@dataclasses.dataclass(frozen=True)
class ChecksCollected:
    """pytest loaded the exercise's checks (said before any student code runs)."""

    checks: tuple[str, ...]

    def fields(self) -> dict[str, Any]:
        return {"event": "collected", "checks": list(self.checks)}


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    """One check's outcome as the judge saw it; the verdict decides what it is worth."""

    check: str
    status: str  # passed, failed or skipped
    message: str = ""
    help: str = ""
    todo: bool = False  # failed on a stub's TODO
    timeline: tuple[dict[str, Any], ...] = ()
    source: dict[str, Any] | None = None  # the student's line
    fatal: bool = False  # the code tried to stop the run (SystemExit, KeyboardInterrupt, ...)
    ended: bool = False  # the process running the student's code ended mid-check

    def fields(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "timeline": list(self.timeline)}


@dataclasses.dataclass(frozen=True)
class Violation:
    """Something the sandbox refused the student's code, or evidence it tampered with."""

    what: str

    def fields(self) -> dict[str, Any]:
        return {"event": "violation", "what": self.what}


@dataclasses.dataclass(frozen=True)
class JudgeEnded:
    """The judge finished the exercise's checks with ``exit_code``."""

    exit_code: int

    def fields(self) -> dict[str, Any]:
        return {"event": "end", "exit_code": self.exit_code}


ResultRecord = JudgeStarted | ChecksCollected | CheckOutcome | Violation | JudgeEnded


def result_line(record: ResultRecord, token: str) -> bytes:
    """``record`` as one line of a result pipe, signed with the run's secret."""
    return _line({"token": token, **record.fields()})


def parse_result(line: bytes, token: str) -> ResultRecord | None:
    """A signed result line; ``None`` when it is not one (unsigned, wrongly signed, malformed): forged."""
    data = _object(line)
    if data is None or data.get("token") != token:
        return None
    try:
        return _result(data)
    except (KeyError, TypeError, ValueError):
        return None


def _result(data: dict[str, Any]) -> ResultRecord | None:
    event = data.get("event")
    if event == "start":
        return JudgeStarted(int(data["pid"]), tuple(map(str, data.get("rlimits") or ())), bool(data.get("process_cap_by_user")))
    if event == "collected":
        return ChecksCollected(tuple(map(str, data["checks"])))
    if event == "violation":
        return Violation(str(data.get("what") or "do something forbidden"))
    if event == "end":
        return JudgeEnded(int(data["exit_code"]))
    if "check" in data:
        source = data.get("source")
        return CheckOutcome(
            check=str(data["check"]),
            status=str(data.get("status")),
            message=str(data.get("message") or ""),
            help=str(data.get("help") or ""),
            todo=bool(data.get("todo")),
            timeline=tuple(span for span in data.get("timeline") or () if isinstance(span, dict)),
            source=source if isinstance(source, dict) else None,
            fatal=bool(data.get("fatal")),
            ended=bool(data.get("ended")),
        )
    return None


# --- what the parent gathered for one exercise -----------------------------------------


@dataclasses.dataclass
class RawOutcome:
    """What the parent saw of one exercise's check process, before any judgement."""

    records: list[ResultRecord] = dataclasses.field(default_factory=list)
    forged_lines: int = 0
    ended: ExerciseEnded | None = None
    output: bytearray = dataclasses.field(default_factory=bytearray)
    output_truncated: bool = False
    result_bytes: int = 0

    def of_kind(self, kind: type[Any]) -> list[Any]:
        """The records of one kind, in the order they arrived."""
        return [record for record in self.records if isinstance(record, kind)]


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()


def _object(line: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
