"""Requests against a real ``serve`` while a fault is injected, and a tally of the answers.

A few threads each loop over a mix of what callers do (an upload of new bytes, a read of
the account, a timeline page, an original, a readiness check) until told to stop; every
answer is kept with its status, its problem type and its ``Retry-After``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx2 as httpx

from tests import imagegen


@dataclass(frozen=True)
class Answer:
    route: str
    status: int  # 0: no HTTP answer at all (the connection failed)
    retry_after: str | None
    problem: str | None
    at: float


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)

    def failures(self) -> list[Answer]:
        return [answer for answer in self.answers if not 200 <= answer.status < 300]

    def unexplained(self) -> list[Answer]:
        """Every answer that is neither a success nor a 503 a caller can retry after."""
        return [
            answer
            for answer in self.failures()
            if answer.status != 503 or answer.retry_after is None
        ]

    def successes_after(self, moment: float) -> int:
        return sum(1 for a in self.answers if a.at > moment and 200 <= a.status < 300)

    def summary(self) -> str:
        counts = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses().items()))
        return f"{len(self.answers)} requests ({counts})"


class Load:
    """``workers`` threads sending the mix to ``base`` as ``headers``' user until stopped."""

    def __init__(self, base: str, headers: dict[str, str], image_id: str, workers: int = 4):
        self.base = base
        self.headers = headers
        self.image_id = image_id
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seeds = itertools.count(1000)
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for_successes_after(self, moment: float, count: int, timeout: float) -> None:
        """Return once ``count`` requests succeeded after ``moment``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.tally.successes_after(moment) < count:
            assert time.monotonic() < deadline, (
                f"no recovery in {timeout} s: {self.tally.summary()}"
            )
            time.sleep(0.1)

    def _work(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as client:
            while not self._stop.is_set():
                for route in ("upload", "me", "timeline", "original", "ready"):
                    self._send(client, route)

    def _send(self, client: httpx.Client, route: str) -> None:
        try:
            if route == "upload":
                photo = imagegen.make_jpeg(None, 64, 48, seed=next(self._seeds))
                response = client.post("/v1/images", files={"file": ("p.jpg", photo)})
            elif route == "me":
                response = client.get("/v1/users/me")
            elif route == "timeline":
                response = client.get("/v1/images", params={"limit": 5})
            elif route == "original":
                response = client.get(f"/v1/images/{self.image_id}/content")
            else:
                response = client.get("/readyz")
        except httpx.TransportError:
            answer = Answer(route, 0, None, None, time.monotonic())
        else:
            problem = None
            if response.headers.get("content-type") == "application/problem+json":
                problem = str(response.json().get("type", "")).rsplit("/", 1)[-1]
            answer = Answer(
                route,
                response.status_code,
                response.headers.get("retry-after"),
                problem,
                time.monotonic(),
            )
        with self._lock:
            self.tally.answers.append(answer)
