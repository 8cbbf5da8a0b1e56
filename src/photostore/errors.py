"""The domain error tree of photostore.

Every failure a caller can cause or meet is one of these types; the API maps each
type to an HTTP status and an RFC 9457 problem type in one table
(``photostore.api.problems``). Nothing here imports FastAPI.

    PhotostoreError                 base; ``type`` is the stable problem slug
    ├── BadRequest                  400  a request that cannot be understood
    ├── InvalidInput                422  well-formed but wrong values
    │   ├── InvalidImage            422  truncated, corrupt, lying header
    │   │   └── ImageTooLarge       422  more pixels or decode memory than allowed
    │   ├── NulInText               422  a NUL character, which PostgreSQL cannot store
    │   └── OverDatabaseLimit       422  a value over a limit of PostgreSQL
    ├── Unauthenticated             401  no or bad credentials
    ├── Forbidden                   403  authenticated, but missing a permission
    ├── NotFound                    404  absent, or somebody else's
    │   └── BlobMissing             404  an image's stored file is not in the blob store
    ├── Conflict                    409  clashes with the current state
    ├── TooLarge                    413  a body over the configured limit
    ├── UnsupportedMediaType        415  not an image format we accept
    ├── RangeNotSatisfiable         416  a Range header outside the file
    ├── RateLimited                 429  too many attempts; carries ``retry_after``
    ├── Unreadable                  500  stored data fails its integrity check or its
    │   │                                key is gone (moved, tampered, crypto-shredded)
    │   └── BlobDamaged             500  a plain blob's bytes fail their chunk checksums
    ├── InsufficientStorage         507  the disk is full, or under the free-space floor
    │                                    kept for the database
    └── ServiceUnavailable          503  a dependency (database, blob store) is down
        ├── DatabaseUnavailable     503  the database could not serve the request;
        │                                carries ``retry_after``
        └── Busy                    503  every slot of a kind of work taken; carries
            │                            ``retry_after``
            ├── DecodersBusy        503  every decode slot taken
            └── PasswordChecksBusy  503  every password-hashing slot taken

The database library's errors never reach a caller as they are: ``db.errors`` turns
those a caller can act on into ``NulInText``, ``OverDatabaseLimit`` and
``DatabaseUnavailable`` where statements run. A subclass without a ``type`` of its own
answers with its parent's.
"""

from __future__ import annotations


class PhotostoreError(Exception):
    """Base of every error photostore reports to a caller."""

    type: str = "error"
    title: str = "Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(PhotostoreError):
    type = "bad-request"
    title = "Bad request"


class InvalidInput(PhotostoreError):
    type = "invalid-input"
    title = "Invalid input"


class InvalidImage(InvalidInput):
    type = "invalid-image"
    title = "Invalid image"


class NulInText(InvalidInput):
    """Text holding U+0000, which PostgreSQL cannot store in ``text`` or ``jsonb``."""


class OverDatabaseLimit(InvalidInput):
    """A value over one of PostgreSQL's limits (a tsvector over 1 MiB, an index row over
    2,704 bytes): the same value fails the same way every time, so never a 503."""


class ImageTooLarge(InvalidImage):
    """An image whose header declares more pixels, or needs more decode memory, than the
    settings allow: refused before its pixels are decoded."""

    type = "image-too-large"
    title = "Image too large to process"


class Unauthenticated(PhotostoreError):
    type = "unauthenticated"
    title = "Authentication required"


class Forbidden(PhotostoreError):
    type = "forbidden"
    title = "Forbidden"


class NotFound(PhotostoreError):
    type = "not-found"
    title = "Not found"


class BlobMissing(NotFound):
    """The image's record is there, its stored file is not: lost from the blob store,
    for an operator to restore from a backup (``photostore verify`` lists them)."""

    type = "blob-missing"
    title = "Stored file missing"


class Conflict(PhotostoreError):
    type = "conflict"
    title = "Conflict"


class TooLarge(PhotostoreError):
    type = "too-large"
    title = "Payload too large"


class UnsupportedMediaType(PhotostoreError):
    type = "unsupported-media-type"
    title = "Unsupported media type"


class RangeNotSatisfiable(PhotostoreError):
    type = "range-not-satisfiable"
    title = "Range not satisfiable"

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail)
        self.size = size


class RateLimited(PhotostoreError):
    type = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unreadable(PhotostoreError):
    """Stored bytes that do not decrypt: never served, always reported as a problem."""

    type = "unreadable-data"
    title = "Stored data is unreadable"


class BlobDamaged(Unreadable):
    """Stored bytes of an unencrypted blob that do not match the checksums recorded when
    it was written (``storage.checksummed``): never served."""


class InsufficientStorage(PhotostoreError):
    """No room on the server's disk for what the request would write: an upload that
    would take the free space under ``PHOTOSTORE_MIN_FREE_DISK_MB`` (the room kept for
    the database's WAL), or a disk found full as it was written. Nothing of the request
    is kept; the same request succeeds once the operator frees space."""

    type = "insufficient-storage"
    title = "Insufficient storage"


class ServiceUnavailable(PhotostoreError):
    type = "service-unavailable"
    title = "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not serve the request (not reachable, a dropped connection, no
    pooled connection in time, a statement cancelled): the same request may succeed
    after ``retry_after`` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(ServiceUnavailable):
    """Every slot of one kind of work (``services.slots``) stayed taken for the whole
    wait: the same request may succeed after ``retry_after`` seconds."""

    type = "busy"
    title = "Too much work of this kind at once"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class DecodersBusy(Busy):
    """Every decode slot of this process stayed taken for the whole wait."""

    type = "decoders-busy"
    title = "Too many images being decoded"


class PasswordChecksBusy(Busy):
    """Every password-hashing slot of this process stayed taken for the whole wait."""

    type = "password-checks-busy"
    title = "Too many passwords being checked"
