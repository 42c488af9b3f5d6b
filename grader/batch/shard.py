"""``--shard K/N``: a deterministic 1/N of the students, so several machines grade one class.

A student's shard depends only on their id (a stable hash, not Python's salted ``hash``),
so every machine agrees on it whatever the order or number of submissions it sees.

``--shard auto`` takes K and N from the engine that runs the machines: a Kubernetes
Indexed Job (``JOB_COMPLETION_INDEX``, counting from 0; the Job does not tell its
completions to the pod, so N is given: ``auto/N``), a Slurm array job
(``SLURM_ARRAY_TASK_ID`` from ``SLURM_ARRAY_TASK_MIN``, and ``SLURM_ARRAY_TASK_COUNT``),
or a GitHub Actions matrix (``STRATEGY_JOB_INDEX`` and ``STRATEGY_JOB_TOTAL``, which the
workflow sets from ``strategy.job-index`` and ``strategy.job-total``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping

from grader.errors import GraderError

SHARD = re.compile(r"^(\d+)/(\d+)$")
AUTO = re.compile(r"^auto(?:/(\d+))?$")
BAD_SHARD = "shard must look like K/N with 1 <= K <= N (e.g. 2/4), or auto, found {text!r}"
NO_ENGINE = (
    "--shard auto found no array index: run it in a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with --shard auto/N), "
    "a Slurm array job (SLURM_ARRAY_TASK_ID) or a GitHub matrix (STRATEGY_JOB_INDEX and STRATEGY_JOB_TOTAL)"
)
NEEDS_COUNT = "--shard auto in a Kubernetes Indexed Job needs the Job's completions: --shard auto/N"
COUNT_DIFFERS = "--shard auto/{given}, but {engine} runs {count} parts"
BAD_INDEX = "{engine} says part {index} of {count}, which is not a part of {count} (parts count from {first})"


class ShardError(GraderError):
    """A ``--shard`` value that is not K/N, or ``auto`` where no engine says which part this is."""


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def contains(self, student: str) -> bool:
        digest = hashlib.sha256(student.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> Shard:
    """``K/N``; or ``auto`` (``auto/N``), read from ``environ`` (the process's environment, as given)."""
    found = SHARD.match(text.strip())
    if found and 1 <= int(found[1]) <= int(found[2]):
        return Shard(int(found[1]), int(found[2]))
    auto = AUTO.match(text.strip())
    if not auto or environ is None:
        raise ShardError(BAD_SHARD.format(text=text))
    return _from_engine(environ, int(auto[1]) if auto[1] else None)


def _from_engine(environ: Mapping[str, str], given: int | None) -> Shard:
    if "SLURM_ARRAY_TASK_ID" in environ:
        first = _number(environ, "SLURM_ARRAY_TASK_MIN", "0")
        index, count = _number(environ, "SLURM_ARRAY_TASK_ID") - first, _number(environ, "SLURM_ARRAY_TASK_COUNT", str(given or 0))
        engine = "the Slurm array"
    elif "JOB_COMPLETION_INDEX" in environ:
        if given is None:
            raise ShardError(NEEDS_COUNT)
        first, index, count, engine = 0, _number(environ, "JOB_COMPLETION_INDEX"), given, "the Kubernetes Job"
    elif "STRATEGY_JOB_INDEX" in environ:
        first, index, count = 0, _number(environ, "STRATEGY_JOB_INDEX"), _number(environ, "STRATEGY_JOB_TOTAL", str(given or 0))
        engine = "the GitHub matrix"
    else:
        raise ShardError(NO_ENGINE)
    if given is not None and given != count:
        raise ShardError(COUNT_DIFFERS.format(given=given, engine=engine, count=count))
    if not 0 <= index < count:
        raise ShardError(BAD_INDEX.format(engine=engine, index=index + first, count=count, first=first))
    return Shard(index + 1, count)


def _number(environ: Mapping[str, str], name: str, default: str | None = None) -> int:
    text = environ.get(name, default)
    if text is None or not text.strip().isdigit():
        raise ShardError(f"{name} must be a whole number, found {text!r}")
    return int(text)
