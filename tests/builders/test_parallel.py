"""The builders' ordered, bounded thread map (:mod:`eotdl.builders.parallel`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from eotdl.builders.parallel import ordered_map


def test_results_come_back_in_input_order() -> None:
    def slow_first(n: int) -> int:
        if n < 3:
            time.sleep(0.02 * (3 - n))  # the first tasks finish last
        return n * n

    assert list(ordered_map(slow_first, range(20), workers=4, window=5)) == [
        n * n for n in range(20)
    ]


def test_at_most_window_tasks_are_pending() -> None:
    pulled = 0

    def args() -> Iterator[int]:
        nonlocal pulled
        for n in range(50):
            pulled += 1
            yield n

    for index, _ in enumerate(ordered_map(lambda n: n, args(), workers=2, window=3)):
        assert pulled <= index + 3


def test_closing_early_runs_no_more_tasks() -> None:
    calls = 0
    lock = threading.Lock()

    def count(n: int) -> int:
        nonlocal calls
        with lock:
            calls += 1
        return n

    results = ordered_map(count, range(1000), workers=2, window=4)
    assert next(results) == 0
    results.close()  # waits for the running tasks, cancels the queued ones
    assert calls <= 5  # the one taken and at most the window's worth in flight


def test_threads_carry_the_given_name() -> None:
    names = list(
        ordered_map(
            lambda _: threading.current_thread().name, range(3), thread_name_prefix="eotdl-x"
        )
    )
    assert all(name.startswith("eotdl-x") for name in names)
