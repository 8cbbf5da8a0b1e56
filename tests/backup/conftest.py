"""Fixtures of the backup tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from photostore.backup.layout import Target


@pytest.fixture
def target(tmp_path: Path) -> Target:
    """A new, empty backup target."""
    return Target(tmp_path / "backup").create()
