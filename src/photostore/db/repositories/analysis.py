"""The rows of ``analysis_results`` and of what is derived from the newest of them
(``labels``, ``image_texts``): one owner's, in the transaction of the caller."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, delete, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.domain.analysis import AnalysisResult
from photostore.ids import new_id

_Result = models.AnalysisResult
_COLUMNS = (
    _Result.id,
    _Result.image_id,
    _Result.analyzer,
    _Result.model_version,
    _Result.payload,
    _Result.created_at,
)
_NEWEST_FIRST = (_Result.created_at.desc(), _Result.id.desc())


class AnalysisRepository:
    """Analysis results of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def serialize_writes(self, image_id: uuid.UUID, analyzer: str) -> None:
        """Wait for, then hold to the transaction's end, the lock that orders the writes of
        ``analyzer`` about the image (an advisory lock: no row to lock exists yet)."""
        key = f"analysis:{self._owner_id}:{image_id}:{analyzer}"
        await self._session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0)))
        )

    async def add(
        self,
        image_id: uuid.UUID,
        analyzer: str,
        model_version: str,
        payload: dict[str, Any],
        created_at: datetime,
    ) -> AnalysisResult:
        """Store one write as it was sent."""
        result = AnalysisResult(
            id=new_id(),
            image_id=image_id,
            analyzer=analyzer,
            model_version=model_version,
            payload=payload,
            created_at=created_at,
        )
        await self._session.execute(
            insert(_Result).values(
                owner_id=self._owner_id,
                id=result.id,
                image_id=image_id,
                analyzer=analyzer,
                model_version=model_version,
                payload=payload,
                created_at=created_at,
            )
        )
        return result

    async def replace_derived(
        self,
        image_id: uuid.UUID,
        analyzer: str,
        labels: Mapping[tuple[str, str], float | None],
        texts: Mapping[str, str],
    ) -> None:
        """Make ``labels`` ((kind, name) -> confidence) and ``texts`` (kind -> body) the
        analyzer's labels and texts about the image, in place of earlier ones."""
        owner_id = self._owner_id
        for model in (models.Label, models.ImageText):
            await self._session.execute(
                delete(model).where(
                    model.owner_id == owner_id,
                    model.image_id == image_id,
                    model.analyzer == analyzer,
                )
            )
        mine = {"owner_id": owner_id, "image_id": image_id, "analyzer": analyzer}
        if labels:
            await self._session.execute(
                insert(models.Label),
                [
                    {**mine, "kind": kind, "name": name, "confidence": confidence}
                    for (kind, name), confidence in labels.items()
                ],
            )
        if texts:
            await self._session.execute(
                insert(models.ImageText),
                [{**mine, "kind": kind, "body": body} for kind, body in texts.items()],
            )

    async def current(self, image_id: uuid.UUID) -> list[AnalysisResult]:
        """The newest result of each analyzer about the image, by analyzer name."""
        rows = await self._session.execute(
            select(*_COLUMNS)
            .ext(distinct_on(_Result.analyzer))
            .where(_Result.owner_id == self._owner_id, _Result.image_id == image_id)
            .order_by(_Result.analyzer, *_NEWEST_FIRST)
        )
        return [_result(row._mapping) for row in rows]

    async def newest(
        self, image_id: uuid.UUID, analyzer: str, model_version: str | None
    ) -> AnalysisResult | None:
        """The analyzer's newest result about the image (of ``model_version`` when given)."""
        stmt = self._of(image_id, analyzer)
        if model_version is not None:
            stmt = stmt.where(_Result.model_version == model_version)
        row = (await self._session.execute(stmt.order_by(*_NEWEST_FIRST).limit(1))).first()
        return _result(row._mapping) if row is not None else None

    async def history(
        self,
        image_id: uuid.UUID,
        analyzer: str,
        count: int,
        before: tuple[datetime, uuid.UUID] | None,
    ) -> list[AnalysisResult]:
        """Up to ``count`` writes of the analyzer about the image, newest first, older than
        the (created_at, id) ``before`` when given."""
        stmt = self._of(image_id, analyzer)
        if before is not None:
            stmt = stmt.where(tuple_(_Result.created_at, _Result.id) < tuple_(*before))
        rows = await self._session.execute(stmt.order_by(*_NEWEST_FIRST).limit(count))
        return [_result(row._mapping) for row in rows]

    def _of(self, image_id: uuid.UUID, analyzer: str) -> Select[Any]:
        return select(*_COLUMNS).where(
            _Result.owner_id == self._owner_id,
            _Result.image_id == image_id,
            _Result.analyzer == analyzer,
        )


def _result(row: RowMapping) -> AnalysisResult:
    return AnalysisResult(**row)
