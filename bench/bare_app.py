"""The bare reference of ``bench/requests.py``: the SQL of a photostore request, no framework.

A Starlette app served by uvicorn, on a psycopg pool, that answers
``GET /v1/images/{id}`` and ``POST /v1/search`` (vector, no filter) for the bearer
token's user with the statements photostore's request path runs, in one transaction:

1. ``BEGIN``, the row-level-security scope and the token's revocation check, in one
   round trip (``Database.for_user``'s opening statement);
2. the work: the image row with its tag names; or the space's row, an exact top-k in
   numpy over the user's vectors (held in memory, as photostore's vector cache holds
   spaces of 2,000 vectors or more), then the hits' rows with their tag names;
3. for a search only, whether the transaction wrote anything (it did not, so it is not
   committed yet): ``GET /v1/images/{id}`` reads through ``Database.read_for_user``,
   whose callers write nothing, so it is not asked;
4. the audit row and ``COMMIT``, in one round trip (a pipeline), the commit not waiting
   for the WAL flush (``SET LOCAL synchronous_commit = off``, as ``Database.end_parked``).

The JWT is verified in process with the same library and claims. Started by
``bench/requests.py`` with ``PHOTOSTORE_DATABASE_URL`` and ``PHOTOSTORE_SECRET_KEY`` set;
``app`` is built by :func:`create_app` (``uvicorn --factory``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import numpy as np
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_OPEN = (
    "BEGIN; SELECT set_config('app.user_id', '{user}', true); "
    "SELECT token_version, role FROM users WHERE id = '{user}'"
)
_IMAGE_COLUMNS = (
    "images.id, images.sha256, images.original_filename, images.content_type, "
    "images.byte_size, images.width, images.height, images.orientation, images.taken_at, "
    "images.taken_at_source, images.taken_at_offset_minutes, images.uploaded_at, "
    "images.updated_at, images.camera_make, images.camera_model, images.latitude, "
    "images.longitude, images.altitude, images.exif, images.description, images.favorite, "
    "images.trashed_at, array((SELECT tags.name FROM tags JOIN image_tags ON "
    "image_tags.owner_id = tags.owner_id AND image_tags.tag_id = tags.id "
    "WHERE image_tags.owner_id = %(owner)s AND image_tags.image_id = images.id "
    "ORDER BY lower(tags.name))) AS tags"
)
_IMAGE = (
    f"SELECT {_IMAGE_COLUMNS} FROM images WHERE images.owner_id = %(owner)s AND images.id = %(id)s"
)
_IMAGES = (
    f"SELECT {_IMAGE_COLUMNS} FROM images "
    "WHERE images.owner_id = %(owner)s AND images.id = ANY(%(ids)s)"
)
_SPACE = (
    "SELECT id, owner_id, name, dimension, metric, generation, vector_count "
    "FROM embedding_spaces WHERE owner_id = %(owner)s AND name = %(name)s"
)
_WROTE = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
_AUDIT = (
    "INSERT INTO audit_log (owner_id, id, at, principal_id, principal_kind, key_id, action, "
    "target_type, target_id, result, request_id) VALUES (%(owner)s, %(id)s, %(at)s, "
    "%(owner)s, 'user', NULL, %(action)s, %(type)s, %(target)s, 200, %(request)s)"
)


class _Bare:
    def __init__(self) -> None:
        self.secret = os.environ["PHOTOSTORE_SECRET_KEY"]
        self.pool = AsyncConnectionPool(
            os.environ["PHOTOSTORE_DATABASE_URL"].replace("postgresql+psycopg", "postgresql"),
            min_size=10,
            max_size=10,
            kwargs={"autocommit": True},
            open=False,
        )
        self.matrices: dict[uuid.UUID, tuple[np.ndarray, list[uuid.UUID]]] = {}

    def user_of(self, request: Request) -> uuid.UUID:
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = jwt.decode(
            token,
            self.secret,
            algorithms=["HS256"],
            audience="photostore-api",
            issuer="photostore",
            options={"require": ["sub", "exp", "iat", "iss", "aud", "ver", "typ"]},
        )
        return uuid.UUID(claims["sub"])

    async def unit(
        self,
        request: Request,
        user: uuid.UUID,
        action: str,
        target: tuple[str, str | None],
        work: Any,
        *,
        ask_wrote: bool,
    ) -> Any:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_OPEN.format(user=user))
            cur.nextset()
            cur.nextset()
            if await cur.fetchone() is None:
                await conn.execute("ROLLBACK")
                raise RuntimeError("revoked")
            try:
                answer = await work(cur)
                if ask_wrote:
                    await cur.execute(_WROTE)
                row = {
                    "owner": user,
                    "id": uuid.uuid4(),
                    "at": datetime.now(UTC),
                    "action": action,
                    "type": target[0],
                    "target": target[1],
                    "request": uuid.uuid4().hex,
                }
                async with conn.pipeline():
                    await cur.execute("SET LOCAL synchronous_commit = off")
                    await cur.execute(_AUDIT, row)
                    await cur.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
        return answer

    async def image(self, request: Request) -> Response:
        user = self.user_of(request)
        image_id = uuid.UUID(request.path_params["image_id"])

        async def work(cur: psycopg.AsyncCursor[dict[str, Any]]) -> Any:
            await cur.execute(_IMAGE, {"owner": user, "id": image_id})
            return await cur.fetchone()

        row = await self.unit(
            request,
            user,
            "GET /v1/images/{image_id}",
            ("image", str(image_id)),
            work,
            ask_wrote=False,
        )
        if row is None:
            return JSONResponse({"title": "not found"}, status_code=404)
        return JSONResponse(_image_json(row))

    async def search(self, request: Request) -> Response:
        user = self.user_of(request)
        body = await request.json()
        query = np.asarray(body["vector"]["values"], dtype=np.float32)
        limit = int(body.get("limit", 20))

        async def work(cur: psycopg.AsyncCursor[dict[str, Any]]) -> Any:
            await cur.execute(_SPACE, {"owner": user, "name": body["vector"]["space"]})
            if await cur.fetchone() is None:
                return None
            vectors, ids = await self.vectors_of(cur, user)
            scores = vectors @ (query / np.linalg.norm(query))
            top = np.argpartition(-scores, limit)[:limit]
            top = top[np.argsort(-scores[top])]
            hits = [(ids[i], 1.0 - float(scores[i])) for i in top]
            await cur.execute(_IMAGES, {"owner": user, "ids": [h[0] for h in hits]})
            rows = {row["id"]: row for row in await cur.fetchall()}
            return [(rows[i], d) for i, d in hits if i in rows]

        hits = await self.unit(
            request, user, "POST /v1/search", ("search", None), work, ask_wrote=True
        )
        if hits is None:
            return JSONResponse({"title": "no such space"}, status_code=404)
        items = [
            {"image": _image_json(row), "score": -d, "distance": d, "text_rank": None}
            for row, d in hits
        ]
        return JSONResponse({"items": items, "next_cursor": None})

    async def vectors_of(
        self, cur: psycopg.AsyncCursor[dict[str, Any]], user: uuid.UUID
    ) -> tuple[np.ndarray, list[uuid.UUID]]:
        """The user's vectors, read once (in the request's scope) and kept in memory."""
        if user not in self.matrices:
            await cur.execute(
                "SELECT image_id, embedding::text AS v FROM embeddings WHERE owner_id = %s",
                (user,),
            )
            rows = await cur.fetchall()
            vectors = np.array([json.loads(r["v"]) for r in rows], dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            self.matrices[user] = (vectors, [r["image_id"] for r in rows])
        return self.matrices[user]


def _image_json(row: dict[str, Any]) -> dict[str, Any]:
    gps = None
    if row["latitude"] is not None and row["longitude"] is not None:
        gps = {
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "altitude": row["altitude"],
        }
    return {
        "id": str(row["id"]),
        "sha256": row["sha256"],
        "original_filename": row["original_filename"],
        "content_type": row["content_type"],
        "byte_size": row["byte_size"],
        "width": row["width"],
        "height": row["height"],
        "orientation": row["orientation"],
        "taken_at": row["taken_at"].isoformat(),
        "taken_at_source": row["taken_at_source"],
        "taken_at_offset_minutes": row["taken_at_offset_minutes"],
        "uploaded_at": row["uploaded_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "camera_make": row["camera_make"],
        "camera_model": row["camera_model"],
        "gps": gps,
        "exif": row["exif"],
        "description": row["description"],
        "tags": row["tags"],
        "favorite": row["favorite"],
        "trashed": row["trashed_at"] is not None,
        "trashed_at": row["trashed_at"].isoformat() if row["trashed_at"] else None,
    }


def create_app() -> Starlette:
    bare = _Bare()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await bare.pool.open()
        yield
        await bare.pool.close()

    return Starlette(
        routes=[
            Route("/v1/images/{image_id}", bare.image, methods=["GET"]),
            Route("/v1/search", bare.search, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
