"""The build step that puts the course into the package; everything else is in pyproject.toml.

The repository keeps each stub once, in ``exercises/`` (the copy a student of a clone
edits), and each reference solution once, in ``solutions/``. A wheel carries copies of
both inside the package, as ``grader/default_kit/exercises/`` and ``grader/default_kit/solutions/``,
where the built-in ``kit.toml`` finds them, so an installed grader works in any folder
(``grade init``, ``grade reset``, ``grade show-solution``).

An editable install (``pip install -e .``) runs from the source tree, so it copies the
stubs into that same folder of the tree (git ignores it): ``exercises/`` is what a
student edits, and "not started" and ``grade reset`` need the stubs as they were when
the grader was installed. It copies no solutions: the kit reads ``solutions/`` itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
KIT = Path("grader", "default_kit")
STUBS, SOLUTIONS = "exercises", "solutions"  # the repository's folders, copied to KIT / STUBS and KIT / SOLUTIONS


def course_files(folder: str) -> list[Path]:
    """The exercise files of one of the repository's folders (none when it is not there)."""
    source = HERE / folder
    return sorted(path for path in source.glob("*.py") if path.is_file()) if source.is_dir() else []


def mirror(files: list[Path], target: Path) -> list[str]:
    """Make ``target`` hold exactly ``files`` (no folder for none); the paths written."""
    if not files:
        return []  # a copy without solutions/, such as the Gradescope bundle's
    target.mkdir(parents=True, exist_ok=True)
    names = {path.name for path in files}
    for stale in target.glob("*.py"):
        if stale.name not in names:
            stale.unlink()
    written = []
    for path in files:
        shutil.copyfile(path, target / path.name)
        written.append(str(target / path.name))
    return written


class BuildWithCourse(build_py):
    """``build_py``, then the stubs (and, for a wheel, the solutions) copied into the package."""

    def run(self) -> None:
        super().run()
        stubs = course_files(STUBS)
        if not stubs:
            raise SystemExit(f"{HERE / STUBS} holds no exercise files: the package's stubs are copied from it")
        if self.editable_mode:
            mirror(stubs, HERE / KIT / STUBS)
            return
        self.course_outputs = mirror(stubs, Path(self.build_lib) / KIT / STUBS)
        self.course_outputs += mirror(course_files(SOLUTIONS), Path(self.build_lib) / KIT / SOLUTIONS)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *getattr(self, "course_outputs", [])]


setup(cmdclass={"build_py": BuildWithCourse})
