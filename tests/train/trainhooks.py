"""Epoch hooks for the training tests (workers import them by this module's name)."""

from __future__ import annotations

import os
from pathlib import Path


def die_once(marker: str, at_rank: int, at_epoch: int, rank: int, epoch: int) -> None:
    """An epoch hook: the first time ``at_rank`` finishes ``at_epoch``, its process dies."""
    if rank == at_rank and epoch == at_epoch and not os.path.exists(marker):
        Path(marker).write_text(f"rank {rank} died after epoch {epoch}\n")
        os._exit(1)


def pause(seconds: float, rank: int, epoch: int) -> None:
    """An epoch hook that makes epochs last long enough to be interrupted."""
    import time

    time.sleep(seconds)
