"""``grade gradescope-bundle``: write the autograder zip a teacher uploads to Gradescope."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli import CannotGrade, kit_option, main
from grader.gradescope_bundle import build_bundle
from grader.kit import load_kit

WROTE = "wrote {path} ({count} files): upload it as the autograder of a Gradescope programming assignment"


@main.command("gradescope-bundle")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("autograder.zip"),
    show_default=True,
    help="Where to write the zip.",
)
@click.option(
    "--pip",
    "pip_spec",
    metavar="SPEC",
    help="Make setup.sh run `pip install SPEC` (a pinned release or git URL) instead of bundling this copy of the grader.",
)
@kit_option
def gradescope_bundle_command(output: Path, pip_spec: str | None, kit_path: Path | None) -> None:
    """Write the Gradescope autograder zip: setup.sh, run_autograder, and the grader with its checks.

    On Gradescope, run_autograder grades /autograder/submission with `--format gradescope`
    into /autograder/results/results.json. Building the zip needs no network.
    """
    kit = load_kit(kit_path) if kit_path else None
    try:
        names = build_bundle(output, pip_spec=pip_spec, kit=kit)
    except OSError as exc:
        raise CannotGrade(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(WROTE.format(path=output, count=len(names)))
