"""What the grader's parent asks a worker to do, as JSON over the worker's stdin.

The job names files and file descriptors, never exercise logic: the worker runs whatever
check files the kit metadata points to.
"""

from __future__ import annotations

import dataclasses
import json
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
    checks: tuple[CheckSpec, ...]
    result_fd: int
    output_fd: int
    timeout: float

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise_id": self.exercise_id,
            "exercise_file": str(self.exercise_file),
            "checks_file": str(self.checks_file),
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
    leave_root: bool = False
    cap_processes_by_user: bool = False
    fork: bool = True

    def dumps(self) -> str:
        return json.dumps(
            {
                "token": self.token,
                "workdir": str(self.workdir),
                "exercises": [e.to_json() for e in self.exercises],
                "limits": self.limits.to_json(),
                "forbidden": [str(path) for path in self.forbidden],
                "leave_root": self.leave_root,
                "cap_processes_by_user": self.cap_processes_by_user,
                "fork": self.fork,
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
            leave_root=data["leave_root"],
            cap_processes_by_user=data["cap_processes_by_user"],
            fork=data["fork"],
        )
