"""Routes: analysis results of an image (``/v1/images/{image_id}/analysis``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from photostore.api.deps import AnalysisServiceDep, AnalysisWriter, ImagesReader, PageLimit
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.analysis import AnalysisIn, AnalysisList, AnalysisOut, AnalysisPage

router = APIRouter(
    prefix="/v1/images/{image_id}/analysis", tags=["analysis"], route_class=GuardedRoute
)

Analyzer = Annotated[
    str, Path(pattern=r"^[a-z0-9._-]{1,100}$", description="1-100 characters of a-z 0-9 . _ -")
]


@router.put("/{analyzer}", status_code=status.HTTP_201_CREATED, response_model=AnalysisOut)
async def write_analysis(
    image_id: uuid.UUID,
    analyzer: Analyzer,
    body: AnalysisIn,
    principal: AnalysisWriter,
    analysis: AnalysisServiceDep,
) -> AnalysisOut:
    """Store a result; its labels and texts replace the analyzer's earlier ones."""
    return AnalysisOut.of(await analysis.write(principal.user_id, image_id, analyzer, body.write()))


@router.get("", response_model=AnalysisList)
async def list_current_analysis(
    image_id: uuid.UUID, principal: ImagesReader, analysis: AnalysisServiceDep
) -> AnalysisList:
    """The newest result of each analyzer, sorted by analyzer name."""
    results = await analysis.current(principal.user_id, image_id)
    return AnalysisList(items=[AnalysisOut.of(r) for r in results])


@router.get("/{analyzer}", response_model=AnalysisOut)
async def get_analysis(
    image_id: uuid.UUID,
    analyzer: Analyzer,
    principal: ImagesReader,
    analysis: AnalysisServiceDep,
    model_version: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> AnalysisOut:
    """The analyzer's newest result, or its newest of ``model_version``."""
    result = await analysis.newest(principal.user_id, image_id, analyzer, model_version)
    return AnalysisOut.of(result)


@router.get("/{analyzer}/history", response_model=AnalysisPage)
async def analysis_history(
    image_id: uuid.UUID,
    analyzer: Analyzer,
    principal: ImagesReader,
    analysis: AnalysisServiceDep,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AnalysisPage:
    """Every result of the analyzer, newest first, in keyset pages."""
    page = await analysis.history(principal.user_id, image_id, analyzer, limit, cursor)
    return AnalysisPage.of(page)
