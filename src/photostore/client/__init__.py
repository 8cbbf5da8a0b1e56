"""A typed Python client of the photostore API, synchronous and asynchronous, on httpx2.

::

    from photostore.client import Client

    with Client("http://127.0.0.1:8000") as photos:
        photos.login("ada@example.org", "correct horse battery")
        image = photos.upload_image("harbour.jpg", tags=["sea"])
        for each in photos.iter_images(tag="sea"):
            print(each["id"], each["taken_at"])

Every route is a method named by its operation id in the OpenAPI document (``get_image``,
``search``), answers are the JSON the server sent, typed as ``schemas``' dictionaries,
and error answers are raised as ``errors``' classes carrying the problem document.
429 and 503 are tried again after the server's ``Retry-After`` (``Retries``).
It imports none of the server: the client and its dependency, httpx2, only.
See docs/client.md.
"""

from __future__ import annotations

from photostore.client._async import AsyncClient
from photostore.client._call import Download
from photostore.client._sync import Client
from photostore.client.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InsufficientStorageError,
    InvalidInputError,
    NotFoundError,
    ProblemError,
    RangeNotSatisfiableError,
    RateLimitedError,
    ServerError,
    TooLargeError,
    UnauthenticatedError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from photostore.client.retries import Retries

__all__ = [
    "AsyncClient",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Download",
    "ForbiddenError",
    "InsufficientStorageError",
    "InvalidInputError",
    "NotFoundError",
    "ProblemError",
    "RangeNotSatisfiableError",
    "RateLimitedError",
    "Retries",
    "ServerError",
    "TooLargeError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnsupportedMediaTypeError",
]
