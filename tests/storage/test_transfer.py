import threading
import time

import pytest

from eotdl.storage.transfer import ProgressBar, TransferOptions, retry, run_parallel

FAST = TransferOptions(attempts=4, backoff=0.01)


def test_retry_recovers_from_transient_errors() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "ok"

    assert retry(flaky, lambda e: isinstance(e, ConnectionError), FAST) == "ok"
    assert len(calls) == 3


def test_retry_gives_up_and_never_retries_permanent_errors() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ConnectionResetError("reset")

    with pytest.raises(ConnectionResetError):
        retry(broken, lambda e: True, FAST)
    assert len(calls) == 4
    calls.clear()
    with pytest.raises(ConnectionResetError):
        retry(broken, lambda e: False, FAST)
    assert len(calls) == 1


def test_run_parallel_is_bounded_and_reports_each_item() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    results: dict[int, object] = {}

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        if n == 7:
            raise ValueError("seven")
        return n * 2

    def done(n: int, value: int | None, exc: BaseException | None) -> None:
        results[n] = exc if exc is not None else value

    run_parallel(range(50), work, 4, done)
    assert peak <= 4
    assert len(results) == 50
    assert isinstance(results[7], ValueError)
    assert results[3] == 6


def test_progress_is_silent_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressBar("x", 100, enabled=True) as bar:
        bar.advance(50)
    assert not bar.enabled
    assert capsys.readouterr().err == ""
