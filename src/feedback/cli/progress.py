"""Showing a long command's progress on stderr: a bar per stage (rich), or one plain line per stage."""

from __future__ import annotations

import time
from types import TracebackType

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn


def _head(stage: str) -> str:
    """A stage's name without what it is doing right now ("writing results: 10,000 of 52,000" -> ...)."""
    return stage.split(": ", 1)[0]


class StageLines:
    """One line per stage, with the seconds since the start: for logs and pipes."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.stage = ""

    def __call__(self, stage: str, done: float | None = None, total: int | None = None) -> None:
        if _head(stage) != self.stage:
            self.stage = _head(stage)
            click.echo(f"[{time.perf_counter() - self.began:6.1f}s] {self.stage}", err=True)


class StageBars:
    """A bar per stage on stderr, drawn also when stderr is not a terminal (``--progress``): a stage that
    reports how far it is fills its bar, one that does not pulses until the next stage begins."""

    def __init__(self) -> None:
        console = Console(stderr=True, force_terminal=True, width=110)
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[step]}", style="dim"),
            console=console,
        )
        self.stage = ""
        self.task: TaskID | None = None

    def __enter__(self) -> StageBars:
        self.bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self._finish()
        self.bars.stop()

    def _finish(self) -> None:
        if self.task is not None:
            self.bars.update(self.task, total=1, completed=1, step="")

    def __call__(self, stage: str, done: float | None = None, total: int | None = None) -> None:
        if _head(stage) != self.stage or self.task is None:
            self._finish()
            self.stage = _head(stage)
            self.task = self.bars.add_task(self.stage, total=None, step="")
        if total is not None:
            step = stage.split(": ", 1)[1] if ": " in stage else ""
            self.bars.update(self.task, completed=done or 0, total=max(total, 1), step=step)
