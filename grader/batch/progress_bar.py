"""Progress of a batch: a bar with an ETA on a terminal, one plain line per student elsewhere."""

from __future__ import annotations

from typing import Protocol

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BatchProgress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self, line: str) -> None: ...

    def stop(self) -> None: ...


class PlainProgress:
    """``[ 3/40] alice  15/20  timeout:05_queues`` per student: readable in CI logs and pipes."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, line: str) -> None:
        self.done += 1
        width = len(str(self.total))
        click.echo(f"[{self.done:>{width}}/{self.total}] {line}")

    def stop(self) -> None:
        pass


class BarProgress:
    """A rich progress bar with the count, elapsed time and ETA, and the last student graded."""

    def __init__(self) -> None:
        self.bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.bar.add_task("", total=None)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)
        self.bar.start()

    def advance(self, line: str) -> None:
        self.bar.update(self.task, advance=1, description=line)

    def stop(self) -> None:
        self.bar.stop()


def make_progress(terminal: bool) -> BatchProgress:
    return BarProgress() if terminal else PlainProgress()
