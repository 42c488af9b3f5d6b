"""The options that bound every check process, shared by the commands that grade.

One table names each limit's option, its unit and its help; the options, the ``Limits``
they build, and the command line that reproduces them are all derived from it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import click

from grader.runner.limits import Limits, MiB
from grader.runner.parent.sandbox import MODES

DEFAULTS = Limits()


@dataclasses.dataclass(frozen=True)
class LimitOption:
    """One ``Limits`` field as a command-line option: ``--flag VALUE`` means ``VALUE * unit``."""

    field: str
    flag: str
    type: click.ParamType[Any, Any]  # the table mixes float, int and str options
    help: str
    unit: int | None = 1

    @property
    def parameter(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    def default(self) -> Any:
        value = getattr(DEFAULTS, self.field)
        return value // self.unit if self.unit and value is not None else value


LIMIT_OPTIONS = (
    LimitOption("timeout", "--timeout", click.FloatRange(min=0.5), "Wall-clock limit per exercise, in seconds  [default: the kit's]"),
    LimitOption("cpu_seconds", "--cpu-seconds", click.IntRange(min=1), "CPU time limit per exercise."),
    LimitOption("memory_bytes", "--memory-mb", click.IntRange(min=384), "Address-space limit per exercise, in MiB.", MiB),
    LimitOption("processes", "--max-processes", click.IntRange(min=4), "Processes and threads a submission may run at once."),
    LimitOption("file_bytes", "--file-size-mb", click.IntRange(min=1), "Largest file a submission may write, in MiB.", MiB),
    LimitOption("output_bytes", "--output-kb", click.IntRange(min=1), "Printed output kept per exercise, in KiB (the rest is cut, and said so).", 1024),
    LimitOption("sandbox", "--sandbox", click.Choice(MODES), "Isolation: bwrap where available (auto), bwrap only, or plain processes with limits.", None),
)  # fmt: skip


def limit_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the limit options to a command; it receives them as one ``limits: Limits`` argument."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {}
        for option in LIMIT_OPTIONS:
            value = kwargs.pop(option.parameter)
            values[option.field] = value * option.unit if option.unit and value is not None else value
        kwargs["limits"] = Limits(**values)
        return function(*args, **kwargs)

    for option in reversed(LIMIT_OPTIONS):
        show = option.default() is not None
        wrapper = click.option(option.flag, type=option.type, default=option.default(), show_default=show, help=option.help)(wrapper)
    return wrapper


def limit_arguments(limits: Limits) -> list[str]:
    """The options that give ``grade`` the same limits (only those not at their default)."""
    arguments = []
    for option in LIMIT_OPTIONS:
        value = getattr(limits, option.field)
        if value != getattr(DEFAULTS, option.field):
            arguments += [option.flag, str(value) if option.unit is None else f"{value / option.unit:g}"]
    return arguments
