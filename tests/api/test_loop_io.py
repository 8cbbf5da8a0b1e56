"""No route touches the disk from the event loop: one slow disk must stall the request
that reads or writes it, never every request of the process.

File operations raise audit events (PEP 578); a hook records those raised in a thread
that runs an event loop while a test watches. Imports (a lazily imported module opens
its source) are left out. Writes raise no event of their own; the file they write to
was opened where they run, so the open stands for them.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

_FILE_EVENTS = frozenset(
    {"open", "os.remove", "os.rename", "os.replace", "os.mkdir", "os.link", "os.scandir",
     "os.listdir", "os.truncate", "os.chmod", "shutil.rmtree", "shutil.copyfile"}
)  # fmt: skip


class _LoopFileEvents:
    """File events raised on an event loop's thread while ``on`` is set."""

    def __init__(self) -> None:
        self.on = threading.Event()
        self.seen: list[str] = []

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.on.is_set() or event not in _FILE_EVENTS:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: where file work belongs
        frames: list[str] = []
        frame = sys._getframe(1)
        while frame.f_back is not None and len(frames) < 12:
            frames.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
            frame = frame.f_back
        if any("importlib" in f or "linecache" in f for f in frames):
            return
        self.seen.append(f"{event} {str(args)[:100]}\n  " + "\n  ".join(frames))


_EVENTS = _LoopFileEvents()
sys.addaudithook(_EVENTS)  # hooks cannot be removed: it records only while a test watches


@pytest.fixture
def loop_file_events() -> Iterator[list[str]]:
    _EVENTS.seen.clear()
    _EVENTS.on.set()
    try:
        yield _EVENTS.seen
    finally:
        _EVENTS.on.clear()


def test_uploads_and_reads_do_no_file_work_on_the_event_loop(
    client: TestClient, alice: Account, loop_file_events: list[str]
) -> None:
    data = imagegen.make_jpeg(None, 800, 600, seed=3)
    created = upload(client, alice, data, tags="beach")
    assert created.status_code == 201
    image_id = created.json()["id"]
    assert upload(client, alice, data).status_code == 200  # the same bytes: staged, discarded
    assert upload(client, alice, b"not an image").status_code in (415, 422)
    for path in ("", "/content", "/thumbnail", "/thumbnail?size=preview"):
        assert client.get(f"/v1/images/{image_id}{path}", headers=alice.headers).status_code == 200
    assert client.get("/v1/images", headers=alice.headers).status_code == 200
    changed = client.patch(f"/v1/images/{image_id}", json={"favorite": True}, headers=alice.headers)
    assert changed.status_code == 200
    found = client.post("/v1/search", json={"text": "beach"}, headers=alice.headers)
    assert found.status_code == 200
    purged = client.delete(f"/v1/images/{image_id}?purge=true", headers=alice.headers)
    assert purged.status_code == 204
    first = "\n".join(loop_file_events[:3])
    assert loop_file_events == [], f"file work on the event loop:\n{first}"
