"""The options that bound every check process, shared by the commands that grade."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import click

from grader.runner.limits import MiB, Limits
from grader.runner.sandbox import MODES

DEFAULTS = Limits()


def limit_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the limit options to a command; it receives them as one ``limits: Limits`` argument."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["limits"] = Limits(
            timeout=kwargs.pop("timeout"),
            cpu_seconds=kwargs.pop("cpu_seconds"),
            memory_bytes=kwargs.pop("memory_mb") * MiB,
            processes=kwargs.pop("max_processes"),
            file_bytes=kwargs.pop("file_size_mb") * MiB,
            output_bytes=kwargs.pop("output_kb") * 1024,
            parallel=os.cpu_count() or 2,
            sandbox=kwargs.pop("sandbox"),
        )
        return function(*args, **kwargs)

    options = [
        click.option("--timeout", type=click.FloatRange(min=0.5), help="Wall-clock limit per exercise, in seconds  [default: the kit's]"),
        click.option("--cpu-seconds", type=click.IntRange(min=1), default=DEFAULTS.cpu_seconds, show_default=True, help="CPU time limit per exercise."),
        click.option("--memory-mb", type=click.IntRange(min=384), default=DEFAULTS.memory_bytes // MiB, show_default=True, help="Address-space limit per exercise, in MiB."),
        click.option("--max-processes", type=click.IntRange(min=4), default=DEFAULTS.processes, show_default=True, help="Processes and threads a submission may run at once."),
        click.option("--file-size-mb", type=click.IntRange(min=1), default=DEFAULTS.file_bytes // MiB, show_default=True, help="Largest file a submission may write, in MiB."),
        click.option("--output-kb", type=click.IntRange(min=1), default=DEFAULTS.output_bytes // 1024, show_default=True, help="Printed output kept per exercise, in KiB (the rest is cut, and said so)."),
        click.option("--sandbox", type=click.Choice(MODES), default=DEFAULTS.sandbox, show_default=True, help="Isolation: bwrap where available (auto), bwrap only, or plain processes with limits."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
