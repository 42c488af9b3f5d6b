"""Content hashes that decide whether a stored report can be reused instead of regrading.

A report depends on the student's exercise files, the kit (metadata, checks, stubs,
solutions), the grader's own grading code, and the options that change a verdict
(which exercises, the time limit). All of these go into one key; when a rerun finds a
stored report with the same key, the submission is not graded again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader.kit import Kit

GRADER = Path(__file__).resolve().parent.parent
# The parts of the grader that never change a verdict: rendering, the command line, batch,
# and the naming and removal of its temporary folders.
NOT_GRADING = ("authoring", "batch", "cli", "render", "leftovers.py")
GRADING_SUFFIXES = (".py", ".ini", ".toml")


def kit_fingerprint(kit: Kit) -> str:
    """A hash of everything in the kit and the grader that a verdict depends on."""
    digest = hashlib.sha256()
    paths = [kit.path]
    for spec in kit.exercises:
        paths += [spec.checks_file, spec.probes_file, spec.stub, spec.solution]
    paths += sorted(
        p for p in GRADER.rglob("*") if p.suffix in GRADING_SUFFIXES and p.relative_to(GRADER).parts[0] not in NOT_GRADING
    )
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()


def submission_key(fingerprint: str, options: dict[str, object], files: dict[str, bytes]) -> str:
    """The key of one grading: the kit's fingerprint, the options, and each file's content."""
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(json.dumps(options, sort_keys=True).encode())
    for exercise in sorted(files):
        digest.update(f"\0{exercise}\0".encode())
        digest.update(hashlib.sha256(files[exercise]).digest())
    return digest.hexdigest()
