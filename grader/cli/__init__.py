"""The ``grade`` command group: a thin click layer over grading, rendering and the kit.

Errors meet the user here and only here: domain errors and usage errors become one-line
messages with exit code 2 ("could not grade"), a command or folder that is not there
suggests the closest command; a graded run exits 0 when everything selected passed (or
reached ``--min-score``) and 1 otherwise; Ctrl-C exits 130 with one line, as shells expect
of a program it stopped. Each subcommand lives in its own module.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from pathlib import Path
from typing import Any

import click

from grader.cli.terminal import is_terminal, safe_output
from grader.errors import GraderError
from grader.leftovers import remove_stale

EXIT_SHORT = 1
EXIT_CANNOT_GRADE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
INTERRUPTED = "Stopped by Ctrl-C."
NOT_A_COMMAND = "{word!r} is neither a command nor a folder: did you mean `grade {command}`?"


class CannotGrade(click.ClickException):
    """Nothing was graded: a bad path, kit or option. Exit code 2, one line, no traceback."""

    exit_code = EXIT_CANNOT_GRADE


# Each subcommand's module, imported only when that command runs: `grade` starts faster
# without the batch, watch and report machinery it does not use.
COMMAND_MODULES = {
    "check": "grader.cli.check",
    "list": "grader.cli.student",
    "hint": "grader.cli.student",
    "reset": "grader.cli.student",
    "show-solution": "grader.cli.student",
    "watch": "grader.cli.watch",
    "batch": "grader.cli.batch",
    "merge": "grader.cli.batch",
    "gradescope-bundle": "grader.cli.bundle",
    "kit": "grader.cli.kit_commands",
    "new": "grader.cli.kit_commands",
    "init": "grader.cli.course_commands",
    "assign": "grader.cli.course_commands",
}


class DefaultGroup(click.Group):
    """A group whose first argument falls through to a default command unless it names a subcommand.

    So ``grade``, ``grade PATH`` and ``grade PATH -e 03`` grade, while ``grade list`` runs
    the ``list`` subcommand (a folder named like a subcommand is spelled ``./list``).
    """

    def __init__(self, *args: Any, default_command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])  # registers itself on `main`
        return self.commands.get(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = self.list_commands(ctx)
        if not args or (args[0] not in known and args[0] not in ("--help", "-h", "--version")):
            if args:
                refuse_mistyped_command(args[0], known)
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else ctx.command_path
            raise CannotGrade(f"{exc.format_message()} (see `{where} --help`)") from None
        except GraderError as exc:  # the one place a domain error becomes one line and exit code 2
            raise CannotGrade(str(exc)) from None
        except KeyboardInterrupt:
            # On a terminal, over the "^C" it echoed: the one line is all that shows.
            over_echo = "\r" if is_terminal(sys.stderr) else ""
            click.echo(over_echo + INTERRUPTED, err=True)
            ctx.exit(EXIT_INTERRUPTED)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[PATH] [OPTIONS] | COMMAND [ARGS]...")


def refuse_mistyped_command(word: str, commands: list[str]) -> None:
    """Refuse ``word``, taken for a folder to grade, when no such folder exists and it looks
    like a command mistyped (``grade lsit``, ``grade hints 03``)."""
    if word.startswith(("-", ".")) or Path(word).name != word or Path(word).exists():
        return  # an option, a path spelled as one, or a folder that is there
    close = difflib.get_close_matches(word, commands, n=1)
    if close:
        raise CannotGrade(NOT_A_COMMAND.format(word=word, command=close[0]))


def kit_option(function: Any) -> Any:
    return click.option(
        "--kit",
        "kit_path",
        type=click.Path(path_type=Path),
        envvar="ASYNCLINGS_KIT",
        help="Kit file (kit.toml) or folder to grade against; default: the built-in kit.",
    )(function)


@click.group(cls=DefaultGroup, default_command="check", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="asynclings")
def main() -> None:
    """Grade asyncio exercises: `grade [PATH]` checks ./exercises (or PATH) and explains every failed check.

    Run `grade check --help` for the grading options.
    """
    safe_output()
    remove_stale()  # what a grader killed earlier left: its temporary folders and cgroups

