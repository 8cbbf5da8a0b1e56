"""The bodies photostore sends and takes, as typed dictionaries of plain JSON.

Each class is named after, and has the members of, the schema of the same name in the
service's OpenAPI document (a test compares them). Answers are the JSON the server sent,
not validated again by the client: ids and times are strings as JSON carries them (UUIDs,
ISO 8601 date-times with an offset). ``Page[T]`` is every list answer with a
``next_cursor``; ``Items[T]`` every one without.
"""

from __future__ import annotations

from typing import Any, Generic, NotRequired, TypedDict, TypeVar

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    """One page of a list: ``next_cursor`` fetches the next one; None on the last."""

    items: list[T]
    next_cursor: str | None


class Items(TypedDict, Generic[T]):
    """A whole list, in one answer."""

    items: list[T]


# Answers.


class Problem(TypedDict):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None
    errors: list[FieldProblem] | None


class FieldProblem(TypedDict):
    loc: list[str]
    msg: str
    type: str


class TokenOut(TypedDict):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


class UserOut(TypedDict):
    id: str
    email: str
    role: str
    created_at: str


class SignupAccepted(TypedDict):
    email: str
    detail: str


class AccountOut(TypedDict):
    id: str
    email: str
    role: str
    created_at: str


class ApiKeyOut(TypedDict):
    id: str
    name: str
    prefix: str
    kind: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyCreated(TypedDict):
    id: str
    name: str
    prefix: str
    kind: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    key: str


class ChangeOut(TypedDict):
    kind: str
    image_id: str
    detail: str | None
    at: str


class AuditEntryOut(TypedDict):
    id: str
    at: str
    principal_id: str
    principal_kind: str
    key_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    result: int
    request_id: str | None


class StatsOut(TypedDict):
    users: int
    admins: int
    images: int
    image_bytes: int


class ServiceKeyOut(TypedDict):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    made_by: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    revoked_by: str | None


class ImageOut(TypedDict):
    id: str
    sha256: str
    original_filename: str
    content_type: str
    byte_size: int
    width: int
    height: int
    orientation: int
    taken_at: str
    taken_at_source: str
    taken_at_offset_minutes: int | None
    uploaded_at: str
    updated_at: str
    camera_make: str | None
    camera_model: str | None
    gps: GpsOut | None
    exif: dict[str, Any]
    title: str | None
    description: str | None
    tags: list[str]
    favorite: bool
    damaged: bool
    trashed: bool
    trashed_at: str | None


class GpsOut(TypedDict):
    latitude: float
    longitude: float
    altitude: float | None


class Box(TypedDict):
    x: float
    y: float
    width: float
    height: float


class AnalysisOut(TypedDict):
    id: str
    image_id: str
    analyzer: str
    model_version: str
    payload: dict[str, Any]
    created_at: str


class FaceOut(TypedDict):
    id: str
    image_id: str
    person_id: str | None
    box: Box
    score: float
    model: str
    has_embedding: bool


class FacesOfImageOut(TypedDict):
    image_id: str
    faces: list[FaceOut]


class PersonOut(TypedDict):
    id: str
    name: str | None
    hidden: bool
    face_count: int
    created_at: str
    updated_at: str


class TagOut(TypedDict):
    id: str
    name: str
    image_count: int
    created_at: str


class AlbumOut(TypedDict):
    id: str
    name: str
    description: str | None
    image_count: int
    created_at: str
    updated_at: str


class SpaceOut(TypedDict):
    name: str
    model: str
    dimension: int
    metric: str
    created_at: str


class VectorOut(TypedDict):
    image_id: str
    space: str
    dimension: int
    metric: str
    values: list[float]
    updated_at: str


class VectorBatchOut(TypedDict):
    stored: int
    created: int
    replaced: int


class NeighborOut(TypedDict):
    image_id: str
    distance: float


class SearchHitOut(TypedDict):
    image: ImageOut
    score: float
    distance: float | None
    text_rank: float | None


# Lists.

AccountPage = Page[AccountOut]
AlbumPage = Page[AlbumOut]
AnalysisPage = Page[AnalysisOut]
AuditPageOut = Page[AuditEntryOut]
ChangePage = Page[ChangeOut]
ImagePage = Page[ImageOut]
PersonPage = Page[PersonOut]
SearchOut = Page[SearchHitOut]
TagPage = Page[TagOut]
AnalysisList = Items[AnalysisOut]
ApiKeyList = Items[ApiKeyOut]
DuplicatesOut = Items[NeighborOut]
FaceBatchOut = Items[FacesOfImageOut]
FaceList = Items[FaceOut]
ImageList = Items[ImageOut]
PersonList = Items[PersonOut]
ServiceKeyList = Items[ServiceKeyOut]
SpaceList = Items[SpaceOut]


# Bodies of requests: a member left out is not sent (in a patch: left as it is), and
# None is sent as null (in a patch: cleared).


class ImagePatch(TypedDict, total=False):
    title: str | None
    description: str | None
    taken_at: str | None
    favorite: bool | None
    tags: list[str] | None


class ImageChangeItem(TypedDict):
    title: NotRequired[str | None]
    description: NotRequired[str | None]
    taken_at: NotRequired[str | None]
    favorite: NotRequired[bool | None]
    tags: NotRequired[list[str] | None]
    id: str


class AnalysisItemIn(TypedDict):
    model_version: str
    payload: AnalysisPayload
    image_id: str
    analyzer: str


class AnalysisPayload(TypedDict, total=False):
    objects: list[DetectedObject]
    scenes: list[Scene]
    ocr: list[OcrLine]
    landmarks: list[Landmark]
    caption: str | None


class DetectedObject(TypedDict):
    label: str
    confidence: float
    box: Box


class Scene(TypedDict):
    label: str
    confidence: float


class OcrLine(TypedDict):
    text: str
    box: NotRequired[Box | None]


class Landmark(TypedDict):
    name: str
    place: NotRequired[str | None]
    confidence: NotRequired[float | None]


class FaceIn(TypedDict):
    box: Box
    score: float
    model: str
    embedding: NotRequired[list[float] | None]
    person_id: NotRequired[str | None]


class FacesOfImageIn(TypedDict):
    faces: list[FaceIn]
    image_id: str


class PersonPatch(TypedDict, total=False):
    name: str | None
    hidden: bool | None


class AlbumPatch(TypedDict, total=False):
    name: str | None
    description: str | None


class FiltersIn(TypedDict, total=False):
    taken_after: str | None
    taken_before: str | None
    tags: list[str]
    albums: list[str]
    people: list[str]
    labels: list[str]
    camera_make: str | None
    camera_model: str | None
    has_gps: bool | None
    within: BoxIn | None
    favorite: bool | None


class BoxIn(TypedDict):
    min_latitude: float
    min_longitude: float
    max_latitude: float
    max_longitude: float


class QueryVectorIn(TypedDict):
    space: str
    values: NotRequired[list[float] | None]
    like_image: NotRequired[str | None]


class SearchIn(TypedDict, total=False):
    filters: FiltersIn
    text: str | None
    vector: QueryVectorIn | None
    limit: int
    cursor: str | None


class VectorItemIn(TypedDict):
    image_id: str
    values: NotRequired[list[float] | None]
    values_base64: NotRequired[str | None]
