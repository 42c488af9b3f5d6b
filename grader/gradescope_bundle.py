"""The autograder zip a teacher uploads to Gradescope: ``setup.sh``, ``run_autograder`` and the grader.

By default the zip carries a copy of this grader's source folder (``asynclings/``: the
package with its built-in kit and the exercise stubs; never the reference solutions or
the kit's own tests), so building it needs no network and the image grades with exactly
this version. ``pip_spec`` installs from a pinned release or git URL instead. A kit of
the teacher's own is copied into ``kit/`` and passed to ``grade --kit``.

``constraints.txt`` pins every library the grader needs (and what they need) to the
version installed where the bundle is built, the versions its tests ran with, so the
image does not pick up a release made since. ``setup.sh`` installs bubblewrap, so the
checks run in the same sandbox as here. The submission is graded as ``grade`` grades any
folder, so its files are found as ``grade batch`` finds them (a whole repository, or
``03_concurrency (1).py``).

The zip is reproducible for one environment: sorted entries, fixed timestamps, fixed permissions.
"""

from __future__ import annotations

import json
import platform
import re
import shlex
import zipfile
from importlib import metadata
from pathlib import Path

from grader.errors import GraderError
from grader.kit import Kit

SOURCE_DIR = "asynclings"
KIT_DIR = "kit"
PROJECT_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "grader", "exercises")
COPIED_IN = (Path("grader", "default_kit", "exercises"), Path("grader", "default_kit", "solutions"))  # setup.py's copies, made again when it installs
SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules"})
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
EXECUTABLE, REGULAR = 0o100755, 0o100644

NOT_A_SOURCE_FOLDER = (
    "this grader is installed as a package, not run from its source folder, so there is no copy "
    "of it to bundle: pass --pip SPEC (a release or git URL that setup.sh installs)"
)
CHECKS_OUTSIDE_KIT = "{checks} is outside the kit's folder {folder}: keep the checks inside it, so the bundle can carry them"
NOT_INSTALLED = "the grader's dependencies cannot be pinned: asynclings is not installed here (pip install -e .)"
CONSTRAINTS = "constraints.txt"
DISTRIBUTION = "asynclings"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image:
# bubblewrap, so that each submission's checks run in its sandbox wherever the image
# allows it, and a virtual environment with the grader in /autograder/venv.
set -euo pipefail
apt-get update -q
apt-get install -y -q bubblewrap
python=""
for candidate in python3.14 python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  apt-get install -y -q python3.11 python3.11-venv
  python=python3.11
fi
if ! "$python" -m venv /autograder/venv; then
  apt-get install -y -q "$python-venv"
  "$python" -m venv /autograder/venv
fi
/autograder/venv/bin/python -m pip install -q --upgrade pip
# The versions the bundle was built and tested with (constraints.txt), not whatever is newest today.
/autograder/venv/bin/python -m pip install -q -c /autograder/source/constraints.txt {install}
/autograder/venv/bin/grade --version
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. The verdict goes to results/results.json;
# the script always exits 0, since a non-zero exit would hide that verdict from the student.
# AUTOGRADER_ROOT and ASYNCLINGS_GRADE exist only to try it outside Gradescope.
root="${{AUTOGRADER_ROOT:-/autograder}}"
grade="${{ASYNCLINGS_GRADE:-$root/venv/bin/grade}}"
# Whatever the student uploaded (a zip arrives unpacked), grade finds the exercise files in it as grade batch does.
submission="$root/submission"
results="$root/results/results.json"
mkdir -p "$root/results"
rm -f "$results"
"$grade" "$submission" --format gradescope --output "$results"{kit_arguments}
if [ ! -s "$results" ]; then
  cat > "$results" <<'JSON'
{fallback}
JSON
fi
exit 0
"""


FALLBACK_RESULTS = {
    "score": 0,
    "output": "The autograder could not grade this submission. Upload your exercise files (such as "
    "03_concurrency.py), or a zip of your exercises folder, and submit again.",
}


class BundleError(GraderError):
    """The bundle cannot be built as asked; the message says what to pass instead."""


def build_bundle(target: Path, *, pip_spec: str | None = None, kit: Kit | None = None) -> list[str]:
    """Write the autograder zip to ``target`` and return the names it holds."""
    install = shlex.quote(pip_spec) if pip_spec else f"/autograder/source/{SOURCE_DIR}"
    kit_arguments = f' --kit "$root/source/{KIT_DIR}/{kit.path.name}"' if kit else ""
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.format(install=install).encode(), EXECUTABLE),
        "run_autograder": (RUN_AUTOGRADER.format(kit_arguments=kit_arguments, fallback=json.dumps(FALLBACK_RESULTS)).encode(), EXECUTABLE),
        CONSTRAINTS: (constraints().encode(), REGULAR),
    }
    if not pip_spec:
        entries |= _tree_entries(source_folder(), SOURCE_DIR, PROJECT_FILES)
    if kit:
        entries |= _kit_entries(kit)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return sorted(entries)


def constraints() -> str:
    """``name==version`` for every library the grader runs with, as installed here, and what they need in turn."""
    try:
        pins = _pins(DISTRIBUTION, {})
    except metadata.PackageNotFoundError:
        raise BundleError(NOT_INSTALLED) from None
    head = f"# The versions the grader was built and tested with (Python {platform.python_version()}): pip install -c {CONSTRAINTS}\n"
    return head + "".join(f"{pin}\n" for pin in sorted(pins.values(), key=str.lower))


def _pins(distribution: str, pins: dict[str, str]) -> dict[str, str]:
    for requirement in metadata.requires(distribution) or []:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue  # test and optional extras are not what grading runs with
        name = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in pins:
            continue
        try:
            pins[key] = f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue  # needed only on another system or Python
        _pins(name, pins)
    return pins


def source_folder() -> Path:
    """The folder this grader runs from (``pyproject.toml`` next to ``grader/``), if it is a source checkout."""
    folder = Path(__file__).resolve().parent.parent
    if not (folder / "pyproject.toml").is_file():
        raise BundleError(NOT_A_SOURCE_FOLDER)
    return folder


def _kit_entries(kit: Kit) -> dict[str, tuple[bytes, int]]:
    """The kit's folder without its reference solutions; its checks must be inside it."""
    folder = kit.path.parent
    for exercise in kit.exercises:
        for hidden in (exercise.checks_file, exercise.probes_file):
            if not hidden.resolve().is_relative_to(folder):
                raise BundleError(CHECKS_OUTSIDE_KIT.format(checks=hidden, folder=folder))
    return _tree_entries(folder, KIT_DIR, exclude=frozenset(e.solution.resolve() for e in kit.exercises))


def _tree_entries(
    folder: Path, prefix: str, names: tuple[str, ...] = (), exclude: frozenset[Path] = frozenset()
) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (or under its ``names``), keyed by its name in the zip."""
    tops = [folder / name for name in names] if names else [folder]
    paths = [path for top in tops for path in (sorted(top.rglob("*")) if top.is_dir() else [top])]
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": (path.read_bytes(), REGULAR)
        for path in paths
        if path.is_file() and not _skipped(path.relative_to(folder)) and path.resolve() not in exclude
    }


def _skipped(relative: Path) -> bool:
    return (
        relative.suffix == ".pyc"
        or any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts)
        or any(relative.is_relative_to(copy) for copy in COPIED_IN)
    )
