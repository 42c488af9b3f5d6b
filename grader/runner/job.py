"""What the grader's parent asks a worker to do: one submission's exercises, as JSON.

The job names files and pipes, never exercise logic: the worker runs whatever check files
the kit metadata points to. Where there is fork, jobs travel over a Unix socket with the
pipes attached (a worker serves many); elsewhere one job arrives on the worker's stdin
and names pipes the worker inherited.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import struct
from pathlib import Path
from typing import Any

from grader.kit import CheckSpec
from grader.runner.limits import Limits


@dataclasses.dataclass(frozen=True)
class ExerciseJob:
    """One exercise to check: the student's file, its check file, and its two pipes."""

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
