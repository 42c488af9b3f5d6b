"""``--shard K/N``: a deterministic 1/N of the students, so several machines grade one class.

A student's shard depends only on their id (a stable hash, not Python's salted ``hash``),
so every machine agrees on it whatever the order or number of submissions it sees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

SHARD = re.compile(r"^(\d+)/(\d+)$")
BAD_SHARD = "shard must look like K/N with 1 <= K <= N (e.g. 2/4), found {text!r}"


class ShardError(Exception):
    """A ``--shard`` value that is not K/N."""


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def contains(self, student: str) -> bool:
        digest = hashlib.sha256(student.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    found = SHARD.match(text.strip())
    if not found or not 1 <= int(found[1]) <= int(found[2]):
        raise ShardError(BAD_SHARD.format(text=text))
    return Shard(int(found[1]), int(found[2]))
