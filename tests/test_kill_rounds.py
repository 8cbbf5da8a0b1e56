"""An acknowledged upload is never lost, and nothing half-written is seen or left: a real
``photostore serve`` SIGKILLed at random points (fixed seed) during concurrent uploads
from keep-alive clients, restarted each time (``bench/kill_rounds.py`` runs it longer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.kill_rounds import print_report, run_kill_rounds

from tests.conftest import postgres_folder


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


@pytest.mark.slow
def test_sigkilled_servers_lose_no_acknowledged_upload_and_leave_nothing(folder: Path) -> None:
    report = run_kill_rounds(folder, rounds=10, seed=3, clients=3, max_delay=1.2)
    print_report(report, seed=3)
    assert report.rounds == 10
    assert report.acknowledged >= report.rounds, "too few uploads were acknowledged"
    assert report.lost == []
    assert report.unreadable_listed == []
    assert report.listed >= report.acknowledged
    assert report.other_ids == 0
    # Every start removed the staging files of the process killed before it, and gc
    # (with the starts' sweeps) leaves nothing behind.
    assert report.staged_after_starts == 0
    assert report.orphans_after_gc == 0
    assert report.partials_after_gc == 0
    assert report.staged_after_gc == 0
