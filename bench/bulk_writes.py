"""Bulk write benchmark: items/s of the batch routes through a real server, beside the
database floor.

    python -m bench.bulk_writes [--images N] [--batch B] [--seed S]

A real ``photostore serve`` process on a scratch data folder (its embedded PostgreSQL
included) is driven over loopback HTTP by one keep-alive client. One user is made
through the API and N images are copied in by the superuser (as ``bench/vector_writes``
does). Half the images take the server's batches, half the floor's, batch after batch in
turn, so both meet the same table sizes and the same load of the machine:

- ``POST /v1/images/batch``: each item sets ``favorite`` and a ``title``;
- ``POST /v1/analysis/batch``: each item a caption and two objects of one analyzer;
- ``POST /v1/faces/batch``: each item two faces of one image.

The floor writes the same rows from a bare psycopg connection as the service role, one
transaction per batch scoped to the user as ``Database.for_user`` scopes it, with one
pipelined statement per table (``executemany``): the rows alone, without the ownership
checks, the search document rebuilt, the change feed or the answer the server gives.
The bodies are encoded before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
from psycopg.types.json import Jsonb

from bench.serving import photostore_serve
from bench.vector_writes import _add_images
from photostore.db.embedded import APP_ROLE, start_cluster
from photostore.ids import new_id

PASSWORD = "bench password"
EMAIL = "bulk@bench.example"
BOX = {"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}

Floor = Callable[[psycopg.Connection[Any], uuid.UUID, list[uuid.UUID]], None]


def _image_items(ids: list[uuid.UUID]) -> dict[str, Any]:
    return {"items": [{"id": str(i), "favorite": True, "title": f"t {i.hex[:8]}"} for i in ids]}


def _analysis_items(ids: list[uuid.UUID]) -> dict[str, Any]:
    payload = {
        "caption": "a dog on a beach",
        "objects": [
            {"label": "dog", "confidence": 0.9, "box": BOX},
            {"label": "beach", "confidence": 0.7, "box": BOX},
        ],
    }
    return {
        "items": [
            {"image_id": str(i), "analyzer": "captioner", "model_version": "1", "payload": payload}
            for i in ids
        ]
    }


def _face_items(ids: list[uuid.UUID]) -> dict[str, Any]:
    face = {"box": BOX, "score": 0.9, "model": "arcface"}
    return {"items": [{"image_id": str(i), "faces": [face, face]} for i in ids]}


def _scoped(conn: psycopg.Connection[Any], owner_id: uuid.UUID) -> psycopg.Cursor[Any]:
    conn.execute("SELECT set_config('app.user_id', %s, true)", (str(owner_id),))
    return conn.cursor()


def _floor_images(conn: psycopg.Connection[Any], owner: uuid.UUID, ids: list[uuid.UUID]) -> None:
    with conn.transaction(), _scoped(conn, owner) as cur:
        cur.executemany(
            "UPDATE images SET favorite = true, title = %s, updated_at = now() "
            "WHERE owner_id = %s AND id = %s",
            [(f"t {i.hex[:8]}", owner, i) for i in ids],
        )


def _floor_analysis(conn: psycopg.Connection[Any], owner: uuid.UUID, ids: list[uuid.UUID]) -> None:
    payload = Jsonb(_analysis_items(ids[:1])["items"][0]["payload"])
    with conn.transaction(), _scoped(conn, owner) as cur:
        cur.executemany(
            "INSERT INTO analysis_results (owner_id, id, image_id, analyzer, model_version, "
            "payload) VALUES (%s, %s, %s, 'captioner', '1', %s)",
            [(owner, new_id(), i, payload) for i in ids],
        )
        cur.executemany(
            "INSERT INTO labels (owner_id, image_id, analyzer, kind, name, confidence) "
            "VALUES (%s, %s, 'captioner', 'object', %s, %s) ON CONFLICT DO NOTHING",
            [(owner, i, name, c) for i in ids for name, c in (("dog", 0.9), ("beach", 0.7))],
        )
        cur.executemany(
            "INSERT INTO image_texts (owner_id, image_id, analyzer, kind, body) "
            "VALUES (%s, %s, 'captioner', 'caption', 'a dog on a beach') ON CONFLICT DO NOTHING",
            [(owner, i) for i in ids],
        )


def _floor_faces(conn: psycopg.Connection[Any], owner: uuid.UUID, ids: list[uuid.UUID]) -> None:
    with conn.transaction(), _scoped(conn, owner) as cur:
        cur.executemany(
            "INSERT INTO faces (owner_id, id, image_id, box_x, box_y, box_width, box_height, "
            "score, model) VALUES (%s, %s, %s, 0.1, 0.2, 0.3, 0.4, 0.9, 'arcface')",
            [(owner, new_id(), i) for i in ids for _ in range(2)],
        )


KINDS: dict[str, tuple[str, Callable[[list[uuid.UUID]], dict[str, Any]], Floor]] = {
    "image fields": ("/v1/images/batch", _image_items, _floor_images),
    "analysis results": ("/v1/analysis/batch", _analysis_items, _floor_analysis),
    "faces (2 per image)": ("/v1/faces/batch", _face_items, _floor_faces),
}


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    image_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(args.images)]
    half = len(image_ids) // 2
    served, floored = image_ids[:half], image_ids[half:]
    starts = range(0, half, args.batch)
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="photostore-bench-bulk-") as work:
        data_dir = Path(work) / "data"
        with (
            photostore_serve(data_dir, {"allow_signup": "true"}) as base,
            httpx.Client(base_url=base, timeout=300) as client,
        ):
            made = client.post("/v1/users", json={"email": EMAIL, "password": PASSWORD})
            assert made.status_code == 202, made.text
            token = client.post("/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {
                "Authorization": f"Bearer {token.json()['access_token']}",
                "Content-Type": "application/json",
            }
            owner_id = uuid.UUID(client.get("/v1/users/me", headers=headers).json()["id"])
            cluster = start_cluster(data_dir / "pgdata")  # joins the server's cluster
            try:
                print(f"adding {len(image_ids):,} images ...", file=sys.stderr)
                _add_images(cluster, owner_id, image_ids)
                with psycopg.connect(cluster.url(APP_ROLE, driver=""), autocommit=True) as conn:
                    for kind, (path, items, floor) in KINDS.items():
                        bodies = [
                            json.dumps(items(served[s : s + args.batch])).encode() for s in starts
                        ]
                        ours = theirs = 0.0
                        for n, start in enumerate(starts):
                            began = time.perf_counter()
                            answer = client.post(path, content=bodies[n], headers=headers)
                            ours += time.perf_counter() - began
                            assert answer.is_success, answer.text
                            began = time.perf_counter()
                            floor(conn, owner_id, floored[start : start + args.batch])
                            theirs += time.perf_counter() - began
                        results[kind] = (half / ours, half / theirs)
                        print(f"{kind}: done", file=sys.stderr)
            finally:
                cluster.stop()
    print(f"\nbulk writes: {half:,} items per kind in batches of {args.batch}, seed {args.seed}")
    print(f"{'batch route':<22}{'photostore items/s':>20}{'floor items/s':>16}{'ratio':>8}")
    for kind, (ours, theirs) in results.items():
        print(f"{kind:<22}{ours:>20,.0f}{theirs:>16,.0f}{theirs / ours:>7.1f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
