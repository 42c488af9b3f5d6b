"""Where the built-in kit's stubs are kept when the grader runs from its repository.

The repository keeps each stub once, in ``exercises/``; ``setup.py`` copies them into
the package (``grader/default_kit/exercises/``) when it is built or installed, editable or
not. So whatever writes a new stub for the built-in kit (``grade new``) writes it to
``exercises/`` too, where it is kept, and not only to the copy.
"""

from __future__ import annotations

from pathlib import Path

from grader.kit import DEFAULT_KIT, Kit

ROOT = Path(__file__).resolve().parent.parent
STUB_SOURCES = ROOT / "exercises"


def stub_sources(kit: Kit) -> Path | None:
    """The repository's ``exercises/`` when ``kit`` is the built-in kit run from its source tree, else ``None``."""
    if kit.path != DEFAULT_KIT.resolve() or not (ROOT / "setup.py").is_file() or not STUB_SOURCES.is_dir():
        return None
    return STUB_SOURCES
