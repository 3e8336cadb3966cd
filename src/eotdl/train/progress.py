"""What the client shows of a job: rank 0's Dask events, as a rich progress display.

Events are dicts with a ``kind``: ``start`` (epoch, epochs, steps, attempt, world), ``step``
(epoch, step, steps, loss), ``epoch`` (epoch, train_loss, validate metrics, samples_per_s,
load_share, seconds), ``test`` (metrics); the runner adds ``retry`` (attempt, reason,
resume_epoch). :class:`Progress` keeps every event and calls an optional callback with each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

EventCallback = Callable[[dict[str, Any]], None]


def describe_metrics(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, int | float))


class Progress:
    """Receives the job's events (any thread) and shows them when ``show`` is set."""

    def __init__(
        self, name: str, show: bool, callback: EventCallback | None = None, console: Any = None
    ) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.callback = callback
        self._lock = threading.Lock()
        self._bar: RichProgress | None = None
        self._task: Any = None
        self._steps = 1
        self._console: Console = console or Console(stderr=True)
        if show:
            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def handle(self, event: tuple[float, dict[str, Any]] | dict[str, Any]) -> None:
        """A Dask event handler: ``(timestamp, message)``; a plain dict works too."""
        message = event[1] if isinstance(event, tuple) else event
        with self._lock:
            self.events.append(message)
            self._show(message)
        if self.callback is not None:
            self.callback(message)

    def _show(self, event: dict[str, Any]) -> None:
        bar = self._bar
        if bar is None:
            return
        kind = event.get("kind")
        if kind == "start":
            steps = max(1, int(event.get("steps") or 1))
            epochs = int(event.get("epochs") or 1)
            done = int(event.get("epoch") or 0)
            if self._task is None:
                self._task = bar.add_task(self.name, total=epochs * steps, status="")
            bar.update(self._task, total=epochs * steps, completed=done * steps, status="")
            self._steps = steps
            if event.get("attempt", 1) > 1 or done:
                bar.console.print(f"resuming from epoch {done} (attempt {event.get('attempt')})")
        elif kind == "step" and self._task is not None:
            completed = (int(event["epoch"]) - 1) * self._steps + int(event["step"])
            bar.update(self._task, completed=completed, status=f"loss {event['loss']:.4f}")
        elif kind == "epoch" and self._task is not None:
            bar.update(self._task, completed=int(event["epoch"]) * self._steps)
            bar.console.print(
                f"epoch {event['epoch']}: train loss {event['train_loss']:.4f}"
                f"  validate {describe_metrics(event.get('validate') or {}) or '-'}"
                f"  ({event.get('samples_per_s', 0):.0f} samples/s)"
            )
        elif kind == "test":
            bar.console.print(f"test: {describe_metrics(event.get('metrics') or {}) or '-'}")
        elif kind == "retry":
            bar.console.print(
                f"[yellow]{event.get('reason')}[/]: restarting the ranks (attempt"
                f" {event.get('attempt')}), from epoch {event.get('resume_epoch')}"
            )
