"""The WAL receiver of the continuous archive lives as long as the process that started
it, whichever thread started it: rounds of the archive run in worker threads, which a
thread pool ends when they idle."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from subprocess import Popen

from photostore.db.embedded import EmbeddedCluster, superuser_connect
from photostore.db.wal_stream import ARCHIVE_SLOT, ReceiverStarter


def test_the_receiver_outlives_the_thread_that_started_it(
    pg_cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    with superuser_connect(pg_cluster) as conn:
        conn.execute("SELECT pg_create_physical_replication_slot(%s)", (ARCHIVE_SLOT,))
    started: list[Popen[bytes]] = []
    starter = ReceiverStarter()
    try:
        worker = threading.Thread(
            target=lambda: started.append(starter.start(pg_cluster, tmp_path, tmp_path / "log"))
        )
        worker.start()
        worker.join()  # as a pool's idle worker ends
        time.sleep(1.0)
        assert started[0].poll() is None, (tmp_path / "log").read_text()
    finally:
        for receiver in started:
            receiver.terminate()
            receiver.wait(timeout=10)
        starter.close()
        with superuser_connect(pg_cluster) as conn:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (ARCHIVE_SLOT,))
