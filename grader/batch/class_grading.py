"""Grade a class: find every student's files, grade them in parallel, stream each result to disk.

Each submission is graded by :func:`grader.grading.grade_folder` on the worker process its
thread keeps (:mod:`grader.batch.slots`); a pool of threads here only waits on those. Students
whose files are identical share one grading, a student whose stored record has the same
content key is not graded again (unless ``force``), and each record is written whole the
moment it is known. So a run stopped any way (Ctrl-C, or SIGTERM and SIGHUP, which the
command line turns into the same interrupt, or SIGKILL) keeps what is done, and the same
command resumes it. The gradebook is then rebuilt from the records on disk.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from grader.batch.archives import ArchiveLimits, is_archive
from grader.batch.cache import kit_fingerprint, submission_key
from grader.batch.export import ExportError, unpack_export
from grader.batch.finder import Located, Student, discover, locate, materialise
from grader.batch.flags import Reference, file_flags, report_flags
from grader.batch.gradebook import build_gradebook
from grader.batch.overrides import Override
from grader.batch.progress_bar import BatchProgress
from grader.batch.record import StudentRecord, slug, stable_report
from grader.batch.roster import Roster
from grader.batch.shard import Shard
from grader.batch.similarity import own_shape
from grader.batch.slots import WorkerSlots
from grader.batch.store import ExerciseColumn, Layout, Manifest, StoreError
from grader.batch.trust import root_refusal
from grader.errors import GraderError
from grader.grading import grade_folder
from grader.kit import ExerciseSpec, Kit, check_files, solution_folders
from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
)
from grader.runner import processes
from grader.runner.limits import Limits
from grader.runner.parent.sandbox import SandboxError, detect, resolve
from grader.submission import MAX_FILE_BYTES

NO_FILES = "no exercise files found in {where}"
UNREADABLE = "the submission could not be read: {error}"
GRADER_FAILED = "the grader failed on this submission: {error}"
NOT_A_FOLDER = "submissions must be a folder of student folders and archives, or a platform's export archive (.zip, .tar.gz): {path}"
NO_SUCH_STUDENT = "{where}: no student {student!r} in this batch{guess}; fix the id, or remove the line"


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """What to grade, against which kit, and how."""

    submissions: Path
    outdir: Path
    kit: Kit
    exercises: list[ExerciseSpec]
    command: list[str] = dataclasses.field(default_factory=list)  # the options a student's rerun needs
    limits: Limits = Limits()
    jobs: int = 1
    roster: Roster | None = None
    overrides: list[Override] = dataclasses.field(default_factory=list)
    shard: Shard | None = None
    force: bool = False
    archive_limits: ArchiveLimits = ArchiveLimits()
    trust_submissions: bool = False  # run the code even as root without bubblewrap
    lenient_names: bool = False  # grade a file whose name only looks like an exercise's, and say so
    due: str | None = None  # ISO 8601, UTC
    late_penalty: str | None = None
    gradebooks: tuple[str, ...] = ()  # learning platforms whose import file to write
    assignment: str = ""  # the column those files fill
    csv_bom: bool = False


@dataclasses.dataclass
class BatchSummary:
    """What a run did: students found (in its shard), graded or reused, the gradebook's rows
    (those, and roster students with no submission), and what the teacher must be told."""

    students: int = 0
    graded: int = 0
    reused: int = 0
    rows: int = 0
    absent: int = 0
    interrupted: bool = False
    ignored: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Pending:
    """A student whose files are found and copied, waiting for a verdict."""

    student: Student
    located: Located
    key: str
    flags: list[str]
    folder: Path

    def sources(self) -> dict[ExerciseSpec, bytes]:
        """The student's exercise files (not those over the size limit: preflight refuses them)."""
        files = self.located.files.items()
        return {spec: path.read_bytes() for spec, path in files if path.stat().st_size <= MAX_FILE_BYTES}

    def record(self, report: Report, reference: Reference) -> StudentRecord:
        """The student's record: ``report``, with what the files and the run show to a teacher.

        Read off the files here, not when they are found, so that a batch's slots read and
        parse them while other slots' checks run, not all of them before the first check.
        """
        sources = self.sources()
        found, own = file_flags(reference, sources)
        flags = self.flags + self.located.flags + found + report_flags(report)
        submitted = self.located.submitted
        return StudentRecord(
            student=self.student.id,
            name=self.student.name,
            key=self.key,
            report=report,
            sources=self.student.sources,
            files=dict(self.located.origins),
            notes=self.located.oversized + self.located.problems + self.located.notes,
            flags=sorted(set(flags)),
            own=own,
            shapes={spec.id: own_shape(source, spec.stub) for spec, source in sources.items() if spec.id in own},
            submitted=submitted.isoformat() if submitted else "",
            marked_late=self.student.marked_late,
        )


KIT_CHANGED = (
    "the kit's own files changed while grading {student} (or a submission graded at the same time): without "
    "bubblewrap a submission's code runs with your permissions. Restore the kit (git checkout, or reinstall it), "
    "then grade the class with bubblewrap (apt-get install bubblewrap); what was graded before is kept"
)
OUTDIR_CONTAINS_SUBMISSIONS = "the output folder {outdir} must not be (or contain) the submissions folder {submissions}: choose another -o"


class BatchError(GraderError):
    """The batch cannot start: bad submissions folder or output folder."""


def run_batch(options: BatchOptions, progress: BatchProgress) -> BatchSummary:
    """Grade every student of ``options.submissions`` (or of its shard) into ``options.outdir``."""
    export = options.submissions.is_file() and is_archive(options.submissions)
    if not options.submissions.is_dir() and not export:
        raise BatchError(NOT_A_FOLDER.format(path=options.submissions))
    submissions, outdir = options.submissions.resolve(), options.outdir.resolve()
    if outdir == submissions or outdir in submissions.parents:
        raise BatchError(OUTDIR_CONTAINS_SUBMISSIONS.format(outdir=options.outdir, submissions=options.submissions))
    try:
        refusal = None if options.trust_submissions else root_refusal(options.limits.sandbox, detect())
    except SandboxError as exc:
        raise BatchError(str(exc)) from None
    if refusal:
        raise BatchError(refusal)
    layout = Layout(options.outdir)
    try:
        layout.create()
        root = unpack_export(options.submissions, layout.export) if export else options.submissions
    except (StoreError, ExportError) as exc:
        raise BatchError(str(exc)) from None
    discovery = discover(root, options.roster, skip=layout.root)
    _check_override_students(options, discovery.students)
    students = [s for s in discovery.students if options.shard is None or options.shard.contains(s.id)]
    layout.write_manifest(_manifest(options))
    _prune(layout, {slug(s.id) for s in students})
    summary = BatchSummary(students=len(students), ignored=discovery.ignored)
    batch = _Batch(options, layout)
    progress.start(len(students))
    try:
        groups = batch.prepare_all(students, progress, summary)
        summary.interrupted = not batch.grade_all(groups, progress, summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        batch.slots.close()  # also the workers started ahead, if finding the submissions was interrupted
        progress.stop()
    if batch.kit_changed_by is not None:
        raise BatchError(KIT_CHANGED.format(student=batch.kit_changed_by))
    if summary.interrupted:
        done = set(layout.slugs()) & {slug(s.id) for s in students}
        summary.graded = len(done) - summary.reused
    written = build_gradebook(layout)
    summary.rows, summary.absent, summary.warnings = written.rows, written.absent, written.warnings
    return summary


def _check_override_students(options: BatchOptions, found: list[Student]) -> None:
    """Stop before grading when an override names no student of the class (a typo in an id)."""
    known = {s.id for s in found} | ({e.id for e in options.roster.entries} if options.roster else set())
    for override in options.overrides:
        if override.student not in known:
            close = difflib.get_close_matches(override.student, sorted(known), n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise BatchError(NO_SUCH_STUDENT.format(where=override.where, student=override.student, guess=guess))


class _Batch:
    """The state one run shares between its preparation and its grading threads."""

    def __init__(self, options: BatchOptions, layout: Layout) -> None:
        self.options = options
        self.layout = layout
        self.reference = Reference(options.kit)
        self.fingerprint = kit_fingerprint(options.kit)
        self.limits = options.limits
        # A submission's code must not see the others' files, nor the gradebook.
        self.hidden = _hideable(options.submissions, layout.root)
        hidden = (*self.hidden, *solution_folders(options.exercises))
        self.slots = WorkerSlots(check_files(options.exercises), self.limits, hidden)
        self.stop = threading.Event()
        # Without bubblewrap a submission could rewrite the kit (its probes, its checks), and
        # so the verdicts of everyone graded after it: the kit is checked after each one.
        self.unsandboxed = resolve(self.limits.sandbox, detect()) == "process"
        self.kit_changed_by: str | None = None

    def prepare_all(self, students: list[Student], progress: BatchProgress, summary: BatchSummary) -> list[list[_Pending]]:
        """Find everyone's files; reuse stored records that match; group the rest by content."""
        groups: dict[str, list[_Pending]] = {}
        checking = False
        for student in students:
            try:
                pending = self.prepare(student)
            except OSError as exc:  # an unreadable upload costs its student, not the batch
                pending = self.prepare(student, Located(notes=[UNREADABLE.format(error=exc)]))
            stored = None if self.options.force else self.layout.read_record(slug(student.id))
            if stored is not None and stored.key == pending.key:
                record = pending.record(stored.report, self.reference)
                if record.to_json() != stored.to_json():
                    self.layout.write_record(record)
                summary.reused += 1
                progress.advance(f"{_line(record)}  (reused)")
            else:
                # An outdated result must not outlive an interrupted run as if it were current.
                self.layout.record_path(slug(student.id)).unlink(missing_ok=True)
                if pending.located.files and not checking:
                    # The first submission to check: the workers load while the rest are found.
                    self.slots.start(min(self.options.jobs, len(students)))
                    checking = True
                groups.setdefault(pending.key, []).append(pending)
        return list(groups.values())

    def prepare(self, student: Student, located: Located | None = None) -> _Pending:
        """Find (unless ``located`` is given) and copy the student's files; flag what they show."""
        work = self.layout.work / slug(student.id)
        if located is None:
            shutil.rmtree(work / "extracted", ignore_errors=True)
            options = self.options
            located = locate(student, options.exercises, self.reference, work / "extracted", options.archive_limits, options.lenient_names)
        folder = self.layout.submission(slug(student.id))
        digests = materialise(located, folder)
        key = submission_key(self.fingerprint, self.verdict_options(), digests)
        flags: list[str] = []
        if located.problems:
            flags.append("archive_rejected")
        if located.oversized:
            flags.append("archive_too_large")
        if not located.files and not any(flag.startswith("unmatched:") for flag in located.flags):
            flags.append("no_exercise_files")
            located.problems.append(NO_FILES.format(where=", ".join(student.sources)))
        if self.options.roster and self.options.roster.get(student.id) is None:
            flags.append("not_on_roster")
        return _Pending(student, located, key, flags, folder)

    def verdict_options(self) -> dict[str, object]:
        """The options that can change a verdict (not how many run at once)."""
        return {"exercises": [s.id for s in self.options.exercises], **self.limits.to_json()}

    def grade_all(self, groups: list[list[_Pending]], progress: BatchProgress, summary: BatchSummary) -> bool:
        """Grade each group once, in parallel; False when interrupted (what is done is kept)."""
        pool = ThreadPoolExecutor(max_workers=self.options.jobs, thread_name_prefix="grade")
        futures: list[Future[list[str]]] = [pool.submit(self.grade_group, group) for group in groups]
        try:
            for future in as_completed(futures):
                for line in future.result():
                    summary.graded += 1
                    progress.advance(line)
        except KeyboardInterrupt:
            self.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            _kill_workers()
            return False
        finally:
            pool.shutdown(wait=True)
            self.slots.close()
        return True

    def grade_group(self, group: list[_Pending]) -> list[str]:
        """Grade the first of students with identical files; write a record for each of them."""
        if self.stop.is_set():
            return []
        first = group[0]
        try:
            options, worker = self.options, self.slots.worker()
            report = grade_folder(first.folder, options.kit, options.exercises, self.limits, self.hidden, worker)
            failed = False
        except Exception as exc:  # noqa: BLE001 - a fault of the grader must cost one student, not the batch
            report = _failed_report(self.options.kit, self.options.exercises, exc)
            failed = True
        if self.stop.is_set():
            return []  # killed by the interrupt: not this submission's verdict
        changed_kit = self.unsandboxed and kit_fingerprint(self.options.kit) != self.fingerprint
        if changed_kit and self.kit_changed_by is None:
            self.kit_changed_by = first.student.id
            self.stop.set()  # no verdict after this one can be trusted
        stable = stable_report(report, str(first.folder.resolve()), "")
        lines = []
        for pending in group:
            copy = Report.from_json(stable.to_json())
            copy.submission = pending.folder.relative_to(self.layout.root).as_posix()
            record = pending.record(copy, self.reference)
            if failed:
                record.flags = sorted({*record.flags, "grader_error"})
            if changed_kit:
                record.flags = sorted({*record.flags, "kit_changed"})
            self.layout.write_record(record)
            lines.append(_line(record))
        return lines


def _hideable(*folders: Path) -> tuple[Path, ...]:
    """The folders that can be hidden from checks without hiding the checks' own run or Python."""
    needed = [Path(tempfile.gettempdir()).resolve(), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    resolved = [folder.resolve() for folder in folders]
    return tuple(f for f in resolved if not any(n == f or f in n.parents for n in needed))


def _line(record: StudentRecord) -> str:
    flags = f"  {' '.join(record.flags)}" if record.flags else ""
    return f"{record.student}  {record.report.score:g}/{record.report.max_score:g}{flags}"


def _failed_report(kit: Kit, exercises: list[ExerciseSpec], error: Exception) -> Report:
    message = GRADER_FAILED.format(error=f"{type(error).__name__}: {error}")
    results = [
        ExerciseResult(
            spec.id,
            spec.title,
            ExerciseStatus.ERROR,
            0.0,
            spec.max_score,
            [CheckResult(c.id, c.name, CheckStatus.ERROR, 0.0, c.points, message=message) for c in spec.checks],
            message=message,
            file=spec.file,
            group=spec.group,
        )
        for spec in exercises
    ]
    return Report(exercises=results, kit=kit.name)


def _manifest(options: BatchOptions) -> Manifest:
    return Manifest(
        kit=options.kit.name,
        kit_title=options.kit.title,
        fingerprint=kit_fingerprint(options.kit),
        exercises=[ExerciseColumn(s.id, s.title, s.max_score) for s in options.exercises],
        command=options.command,
        roster=options.roster.to_json() if options.roster else None,
        overrides=[o.to_json() for o in options.overrides],
        shard=str(options.shard) if options.shard else None,
        lenient_names=options.lenient_names,
        due=options.due,
        late_penalty=options.late_penalty,
        gradebooks=list(options.gradebooks),
        assignment=options.assignment,
        csv_bom=options.csv_bom,
    )


def _prune(layout: Layout, current: set[str]) -> None:
    """Remove what earlier runs left for students who are not part of this one."""
    for stale in set(layout.slugs()) - current:
        layout.record_path(stale).unlink(missing_ok=True)
        shutil.rmtree(layout.work / stale, ignore_errors=True)


def _kill_workers() -> None:
    """Kill the worker sessions this process started, so an interrupt does not wait for them."""
    for pid in processes.children(os.getpid()):
        processes.kill_tree(pid)
