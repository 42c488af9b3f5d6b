"""Which file is which exercise: one set of rules for ``grade PATH``, ``grade batch`` and Gradescope.

A file is an exercise's when its name is the kit's, whatever the case, with a prefix a
platform adds (``login_1_2_03_concurrency.py``) or a resubmission suffix
(``03_concurrency-1.py``, ``03_concurrency (2).py``). Among several, inside one upload:

1. the kit's exact name at the top of the upload wins (where ``grade`` expects it);
2. copies of the kit's reference solution are set aside when the upload holds another
   version of that exercise (a whole repository uploaded with its ``solutions/``);
3. then the folder holding most exercise files (``NN_topic.py``), the shallowest, the
   highest resubmission number, the exact name, the first by name.

Between uploads (a folder and a later zip, ``hw.zip`` and ``hw_final.zip``) the newest
wins: by the platform's attempt time, then its resubmission number, then the time the
upload was recorded (archive member times, file times). A name that only looks like an
exercise's (``03-concurrency.py``, ``Exercise4.py``) is never graded silently, nor
dropped silently: it is reported when the exercise has no other file or a newer upload
holds it, or, under ``lenient``, graded with a note that says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from grader.kit import ExerciseSpec
from grader.submission import MAX_FILE_BYTES

JUNK_FOLDERS = frozenset({"__MACOSX", "__pycache__", "site-packages", "node_modules"})
JUNK_FILES = frozenset({"Thumbs.db", "desktop.ini"})
MAX_FILES = 20_000  # files looked at in one folder given to `grade PATH`
NEAR_SUFFIXES = (".py.txt", ".py", ".pyw")
NUMBER_WORDS = frozenset({"ex", "exercise", "exercice", "ejercicio", "exo", "hw", "homework", "task", "problem", "q", "question", "aufgabe", "uebung"})
EXERCISE_NAMED = re.compile(r"(?:^|[_\- ])(\d\d)_[a-z][a-z0-9_]*?(?:[-_ ]?\(?\d+\)?)?\.py$")
TOPIC_LIKENESS = 0.8

REFERENCE_COPY = "not graded: {folder} holds copies of the reference solutions"
ALSO_FOUND = "{file}: graded {chosen}; also found {others}"
VERSIONS = "{file}: graded {chosen}, {why}; set aside {others}"
UNMATCHED = "unmatched: {name} — looks like {exercise}; not graded (rename it to {file}, or grade with --lenient-names)"
RENAMED = "graded {name} as {file}: its name only looks like {exercise}'s (--lenient-names)"


@dataclasses.dataclass(frozen=True)
class Upload:
    """One thing a student handed in: a folder's loose files, an archive, a platform's file.

    ``stamp`` is the attempt time a platform wrote into the name (Blackboard), ``version``
    its resubmission number (Canvas ``-1``, a browser's ``(2)``), ``time`` when it was
    recorded (nanoseconds: an archive's member time or the file's).
    """

    shown: str
    time: int = 0
    stamp: str = ""
    version: int = 0

    def newness(self) -> tuple[str, int, int]:
        return self.stamp, self.version, self.time

    def when(self) -> datetime.datetime:
        """The time the platform recorded, in UTC."""
        if self.stamp:
            return datetime.datetime.strptime(self.stamp, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=datetime.UTC)
        return datetime.datetime.fromtimestamp(self.time / 1e9, datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A file that may be the student's version of an exercise."""

    spec: ExerciseSpec
    path: Path
    shown: str  # where it came from, as a teacher reads it
    folder: str  # files with the same folder were handed in together
    upload: Upload
    exact: bool  # named exactly like the kit's file
    resubmission: int  # the platform's ``-N`` suffix, 0 without
    depth: int  # folders between the upload's top and the file
    looks_like: bool = False  # only looks like the exercise's file (``03-concurrency.py``)


@dataclasses.dataclass
class Choice:
    """The file chosen for each exercise, where it came from, and what a teacher must be told."""

    files: dict[ExerciseSpec, Path] = dataclasses.field(default_factory=dict)
    origins: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    uploads: list[Upload] = dataclasses.field(default_factory=list)  # those the chosen files came from


def match_exercise(name: str, specs: list[ExerciseSpec]) -> tuple[ExerciseSpec, bool, int] | None:
    """The exercise a file name stands for, whether the name is exact, and its resubmission number."""
    for spec in specs:
        if name == spec.file:
            return spec, True, 0
    for spec in specs:
        stem, suffix = os.path.splitext(spec.file.lower())
        found = re.match(rf"^(?:.*[_\- ])?{re.escape(stem)}(?:[-_ ]?\(?(\d+)\)?)?{re.escape(suffix)}$", name.lower())
        if found:
            return spec, False, int(found[1] or 0)
    return None


def looks_like(name: str, specs: list[ExerciseSpec]) -> ExerciseSpec | None:
    """The exercise whose file ``name`` resembles without matching (``4_monitoring.py``, ``Exercise4.py``), if one clearly does."""
    lowered = name.lower()
    suffix = next((s for s in NEAR_SUFFIXES if lowered.endswith(s)), "")
    if not suffix or match_exercise(name, specs):
        return None
    words = re.findall(r"[a-z]+|\d+", lowered[: -len(suffix)])
    scores: dict[str, float] = {}
    for spec in specs:
        number, _, topic = spec.id.partition("_")
        numbered = any(
            word.isdigit() and len(word) <= 2 and int(word) == int(number) and (i == 0 or words[i - 1] in NUMBER_WORDS)
            for i, word in enumerate(words)
        )
        likeness = max((difflib.SequenceMatcher(None, word, topic).ratio() for word in words if len(word) > 2 and not word.isdigit()), default=0.0)
        likeness = max(likeness, difflib.SequenceMatcher(None, "".join(w for w in words if not w.isdigit()), topic.replace("_", "")).ratio())
        score = (2 * likeness if likeness >= TOPIC_LIKENESS else 0.0) + numbered
        if score:
            scores[spec.id] = score
    if not scores:
        return None
    best = max(scores.values())
    ranked = [spec for spec in specs if scores.get(spec.id) == best]
    return ranked[0] if len(ranked) == 1 else None


def exercise_number(name: str) -> str:
    """``03`` for a file named like an exercise (``03_concurrency.py``, ``x_03_topic-1.py``), else ``""``."""
    found = EXERCISE_NAMED.search(name.lower())
    return found[1] if found else ""


def junk(name: str) -> bool:
    """Names no submission is made of: hidden files, macOS and Windows clutter, installed packages."""
    return name.startswith(".") or name in JUNK_FOLDERS or name in JUNK_FILES


def choose(
    candidates: list[Candidate],
    near: list[Candidate],
    specs: list[ExerciseSpec],
    weights: dict[str, int],
    is_reference: Callable[[Candidate], bool],
    lenient: bool = False,
) -> Choice:
    """One file per exercise from ``candidates``; ``near`` are files that only look like one.

    Without ``lenient`` those are never graded, and reported when the exercise has no other
    file or theirs is newer; with it they compete with the others, after any file named
    like the exercise in the same upload. ``weights`` counts the exercise files in each
    folder; ``is_reference`` tells a copy of the kit's reference solution.
    """
    choice = Choice()
    copies: set[str] = set()
    for spec in specs:
        alike = [c for c in near if c.spec == spec]
        options = [c for c in candidates if c.spec == spec] + (alike if lenient else [])
        if not options:
            _unmatched(choice, spec, alike)
            continue
        by_upload: dict[Upload, list[Candidate]] = defaultdict(list)
        for candidate in options:
            by_upload[candidate.upload].append(candidate)
        best = {upload: _within(found, weights, is_reference, copies) for upload, found in by_upload.items()}
        newest = sorted(best, key=lambda u: (u.newness(), u.shown), reverse=True)
        chosen, others = best[newest[0]]
        choice.files[spec] = chosen.path
        choice.origins[spec.id] = chosen.shown
        choice.uploads.append(chosen.upload)
        if chosen in alike:
            choice.notes.append(RENAMED.format(name=chosen.shown, file=spec.file, exercise=spec.id))
            choice.flags.append(f"renamed:{spec.id}")
        if len(newest) > 1:
            choice.flags.append("multiple_versions")
            older = ", ".join(f"{best[u][0].shown} ({_moment(u)})" for u in newest[1:])
            choice.notes.append(VERSIONS.format(file=spec.file, chosen=chosen.shown, why=_why(newest[0], newest[1]), others=older))
        if others:
            choice.notes.append(ALSO_FOUND.format(file=spec.file, chosen=chosen.shown, others=", ".join(c.shown for c in others)))
        if not lenient:
            _unmatched(choice, spec, [c for c in alike if (c.upload.newness(), c.upload.shown) > (chosen.upload.newness(), chosen.upload.shown)])
    choice.notes[:0] = [REFERENCE_COPY.format(folder=folder) for folder in sorted(copies)]
    choice.flags = sorted(set(choice.flags))
    return choice


def _unmatched(choice: Choice, spec: ExerciseSpec, alike: list[Candidate]) -> None:
    """Say which files that look like ``spec``'s were not graded."""
    if alike:
        choice.notes += [UNMATCHED.format(name=c.shown, exercise=spec.id, file=spec.file) for c in alike]
        choice.flags.append(f"unmatched:{spec.id}")


def _within(
    found: list[Candidate], weights: dict[str, int], is_reference: Callable[[Candidate], bool], copies: set[str]
) -> tuple[Candidate, list[Candidate]]:
    """The file one upload offers for an exercise (rules 1 to 3 of the module's docstring), and the
    others it holds that are not set aside as reference copies."""
    top = [c for c in found if c.exact and c.depth == 0]
    if not top and len(found) > 1:
        own = [c for c in found if not is_reference(c)]
        if own and len(own) < len(found):
            copies.update(c.folder for c in found if c not in own)
            found = own
    chosen = top[0] if top else min(found, key=lambda c: (c.looks_like, -weights.get(c.folder, 0), c.depth, -c.resubmission, not c.exact, c.shown))
    return chosen, [c for c in found if c is not chosen]


def _why(newest: Upload, runner_up: Upload) -> str:
    if newest.stamp != runner_up.stamp:
        return f"the latest attempt ({_moment(newest)})"
    if newest.version != runner_up.version:
        return f"the highest resubmission number ({newest.version})"
    if newest.time != runner_up.time:
        return f"the newest upload ({_moment(newest)})"
    return "uploaded at the same time as the others, and last by name"


def _moment(upload: Upload) -> str:
    return upload.when().strftime("%Y-%m-%d %H:%M:%S UTC")


def walk(folder: Path, limit: int | None = None) -> Iterator[tuple[Path, str, int]]:
    """Every file under ``folder`` that could be handed in, with its folder (relative, ``.`` at the top) and depth.

    Hidden and junk folders are not entered and links are not followed; after ``limit`` files the walk stops.
    """
    seen = 0
    for here, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not junk(f) and not (Path(here) / f).is_symlink())
        relative = Path(here).relative_to(folder).as_posix()
        depth = 0 if relative == "." else relative.count("/") + 1
        for name in sorted(files):
            if junk(name):
                continue
            seen += 1
            if limit is not None and seen > limit:
                return
            yield Path(here) / name, relative, depth


def find_in_folder(folder: Path, specs: list[ExerciseSpec]) -> dict[ExerciseSpec, Path]:
    """The file of each exercise in one student's ``folder`` (no archives opened), as ``grade batch`` chooses it."""
    from grader.batch.flags import (
        code_signature,  # the reference test is needed only once files are found
    )

    upload = Upload(folder.name + "/")
    candidates: list[Candidate] = []
    weights: dict[str, set[str]] = defaultdict(set)
    for path, relative, depth in walk(folder, MAX_FILES):
        if path.is_symlink():
            continue
        if number := exercise_number(path.name):
            weights[relative].add(number)
        match = match_exercise(path.name, specs)
        if match:
            spec, exact, resubmission = match
            candidates.append(Candidate(spec, path, path.relative_to(folder).as_posix(), relative, upload, exact, resubmission, depth))

    @functools.cache
    def solution(spec: ExerciseSpec) -> str:
        return code_signature(spec.solution.read_bytes()) if spec.solution.is_file() else ""

    def is_reference(candidate: Candidate) -> bool:
        path = candidate.path
        return path.stat().st_size <= MAX_FILE_BYTES and code_signature(path.read_bytes()) == solution(candidate.spec)

    counts = {relative: len(numbers) for relative, numbers in weights.items()}
    return choose(candidates, [], specs, counts, is_reference).files
