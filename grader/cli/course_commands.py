"""``grade init`` and ``grade assign``: the folders students start from, outside any clone of the kit.

``grade init [DIR]`` is for a student who installed the grader with pip or pipx: it
writes a course folder where ``grade``, ``grade watch``, ``hint``, ``reset`` and
``show-solution`` work as they do in a clone. ``grade assign OUTDIR`` is for a teacher:
the repository (or zip) handed to a class, with the grading workflow and no solutions.
What they write is in :mod:`grader.course`.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import click

from grader.cli import CannotGrade, kit_option, main
from grader.course import assignment_files, init_course, write_assignment
from grader.kit import DEFAULT_KIT, load_kit

DISTRIBUTION = "asynclings"


@main.command("init")
@click.argument("directory", metavar="[DIR]", type=click.Path(path_type=Path), required=False)
@kit_option
def init_command(directory: Path | None, kit_path: Path | None) -> None:
    """Write a course folder, DIR (default: one named after the kit, ./asynclings): the exercises, a README on how to work, a .gitignore.

    It never overwrites an exercise file: a folder that holds one is refused.
    """
    kit = load_kit(kit_path)
    folder = directory if directory is not None else Path(kit.name)
    try:
        written = init_course(folder, kit)
    except OSError as exc:
        raise CannotGrade(f"cannot write {exc.filename or folder}: {exc.strerror or exc}") from None
    click.echo(f"wrote {_shown(folder / 'exercises')}{os.sep} ({len(kit.exercises)} exercises), " + ", ".join(_shown(p) for p in written.files if p.parent == folder))
    for path in written.kept:
        click.echo(f"kept your {_shown(path)}; `grade --help` says how to work")
    here = "" if folder.resolve() == Path.cwd().resolve() else f"cd {_shown(folder)} && "
    click.echo(f"Next: {here}grade watch   (grades each exercise as you save it; `grade list` shows where you stand)")


@main.command("assign")
@click.argument("outdir", metavar="OUTDIR", type=click.Path(path_type=Path))
@click.option("--pip", "pip_spec", metavar="SPEC", help="What the README and the workflow install (default: this release, asynclings==VERSION).")
@kit_option
def assign_command(outdir: Path, pip_spec: str | None, kit_path: Path | None) -> None:
    """Write the repository a class starts from into OUTDIR (a new folder, or OUTDIR.zip for a learning platform).

    It holds the stubs, a README for students and the GitHub Classroom workflow that grades
    each push; never a reference solution. With --kit (a private kit), the workflow grades
    with that kit, checked out from a private repository (docs/ci.md says what it needs).
    """
    kit = load_kit(kit_path)
    spec = pip_spec or f"{DISTRIBUTION}=={metadata.version(DISTRIBUTION)}"
    try:
        files = assignment_files(kit, spec)
        write_assignment(outdir, files)
    except OSError as exc:
        raise CannotGrade(f"cannot write {exc.filename or outdir}: {exc.strerror or exc}") from None
    click.echo(f"wrote {_shown(outdir)} ({len(files)} files): the stubs, README.md, .gitignore and .github/workflows/classroom.yml")
    if kit.path != DEFAULT_KIT.resolve():
        public = {e.id for e in load_kit().exercises}
        unknown = [e.id for e in kit.exercises if e.id not in public]
        click.echo("the workflow grades with your kit: set the variable ASYNCLINGS_KIT_REPOSITORY and the secret ASYNCLINGS_KIT_TOKEN (docs/ci.md)")
        if unknown:
            click.echo(f"note: the built-in kit has no {', '.join(unknown)}: students cannot grade those themselves with `grade`")


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # Windows: no relative path leads from C: to D:
        return str(path)
