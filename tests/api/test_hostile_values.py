"""Values that broke a library behind a route answer as the API documents, never 500.

Each case once reached Python's ``int()`` (over 4,300 digits), ``int()`` of an infinity,
``uuid.UUID`` of a number, PostgreSQL's query parser (a NOT per "-" on a 32-deep stack),
its tsvector size limit, or python-multipart's boundary check, unhandled.
"""

from __future__ import annotations

import base64
import random
import string

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

PROBLEMS = "https://photostore.dev/problems/"
DIGITS = "9" * 5000


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
def image_id(client: TestClient, alice: Account) -> str:
    response = upload(client, alice, imagegen.make_png(None, 16, 16))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(
    ("range_header", "status"),
    [
        (f"bytes={DIGITS}-", 416),  # starts past the end of any file
        (f"bytes={DIGITS}-{DIGITS}", 416),
        (f"bytes=-{DIGITS}", 206),  # a suffix longer than the file: all of it
        (f"bytes=0-{DIGITS}", 206),  # to past the end: all of it
        (f"bytes={'0' * 5000}1-2", 206),  # leading zeros are still bytes 1-2
    ],
    ids=["start", "start-and-end", "suffix", "end", "leading-zeros"],
)
def test_a_range_of_thousands_of_digits_is_416_or_the_file(
    client: TestClient, alice: Account, image_id: str, range_header: str, status: int
) -> None:
    whole = client.get(f"/v1/images/{image_id}/content", headers=alice.headers).content
    response = client.get(
        f"/v1/images/{image_id}/content", headers={**alice.headers, "Range": range_header}
    )
    assert response.status_code == status, response.text
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(whole)}"
    elif range_header.endswith("1-2"):
        assert response.content == whole[1:3]
    else:
        assert response.content == whole


LIST_CURSORS = [
    _cursor('["2020-01-01T00:00:00+00:00",5]'),  # an id that is a number
    _cursor('["t","x",5]'),
    _cursor('[Infinity,"x"]'),
    _cursor('["2020-01-01T00:00:00+00:00",1e309]'),
    _cursor('{"o":1}'),
    _cursor("[" * 100 + "]" * 100),
]


def test_a_list_cursor_that_is_not_ours_is_400(client: TestClient, alice: Account) -> None:
    for path in ("/v1/images", "/v1/tags", "/v1/albums", "/v1/people", "/v1/users/me/audit"):
        for cursor in LIST_CURSORS:
            response = client.get(path, params={"cursor": cursor}, headers=alice.headers)
            assert response.status_code == 400, (path, cursor, response.text)
            assert response.json()["type"] == PROBLEMS + "bad-request"


SEARCH_CURSORS = [
    _cursor('{"o":Infinity,"f":"x"}'),  # int(inf) raised OverflowError
    _cursor('{"o":1e309,"f":"x"}'),
    _cursor('{"o":-Infinity,"f":"x"}'),
    _cursor('{"o":NaN,"f":"x"}'),
    _cursor('{"o":true,"f":"x"}'),
    _cursor('{"o":' + "9" * 300 + ',"f":"x"}'),
    _cursor('["2020-01-01T00:00:00+00:00",5]'),
]


def test_a_search_cursor_that_is_not_ours_is_400(client: TestClient, alice: Account) -> None:
    for body in ({"text": "harbour"}, {}):  # ranked, then browsing
        for cursor in SEARCH_CURSORS:
            response = client.post(
                "/v1/search", json={**body, "cursor": cursor}, headers=alice.headers
            )
            assert response.status_code == 400, (body, cursor, response.text)


HYPHENATED = ["-" * 500, "- " * 250, "-(" * 250, "x " + "-" * 498, '"' + "-" * 498 + '"']


def test_a_search_text_of_many_hyphens_answers_normally(
    client: TestClient, alice: Account, image_id: str
) -> None:
    patched = client.patch(
        f"/v1/images/{image_id}", json={"description": "harbour"}, headers=alice.headers
    )
    assert patched.status_code == 200, patched.text
    for text in HYPHENATED:
        response = client.post("/v1/search", json={"text": text}, headers=alice.headers)
        assert response.status_code == 200, (text, response.text)
        assert response.json()["items"] == []
    # NOT NOT harbour is harbour, however many pairs.
    response = client.post("/v1/search", json={"text": "-" * 40 + "harbour"}, headers=alice.headers)
    assert [hit["image"]["id"] for hit in response.json()["items"]] == [image_id]


def test_a_multipart_boundary_over_256_characters_is_400(
    client: TestClient, alice: Account
) -> None:
    boundary = "b" * 300
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        ).encode()
        + imagegen.make_png(None, 8, 8)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/v1/images",
        content=body,
        headers={**alice.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400, response.text
    assert "boundary" in response.json()["detail"]


def test_a_nul_in_a_path_id_is_audited_and_answered(client: TestClient, alice: Account) -> None:
    # The audit row names the path's id; PostgreSQL stores no NUL, and a row that could
    # not be written turned the 422 into a 500.
    response = client.get("/v1/images/%00", headers=alice.headers)
    assert response.status_code == 422, response.text
    trail = client.get("/v1/users/me/audit", headers=alice.headers).json()["items"]
    assert trail[0]["target_id"] == "\ufffd"


def _distinct_words(rnd: random.Random, count: int) -> str:
    return " ".join("".join(rnd.choices(string.ascii_lowercase, k=9)) for _ in range(count))


def test_ocr_text_over_the_search_document_limit_is_422_not_retried(
    client: TestClient, alice: Account, image_id: str
) -> None:
    # 120 lines of 10,000 characters, within the documented limits (1,000 lines of
    # 10,000): 1.2 MB of distinct words, over the 1 MiB PostgreSQL holds in a tsvector.
    rnd = random.Random(0)
    lines = [{"text": _distinct_words(rnd, 1000)} for _ in range(120)]
    path = f"/v1/images/{image_id}/analysis/ocr"
    body = {"model_version": "1", "payload": {"ocr": lines}}
    response = client.put(path, json=body, headers=alice.headers)
    assert response.status_code == 422, response.text[:300]
    assert "Retry-After" not in response.headers
    assert "1 MiB of distinct words" in response.json()["detail"]
    # Nothing of the write was kept, and a write within the limit still works.
    assert client.get(path, headers=alice.headers).status_code == 404
    smaller = {"model_version": "1", "payload": {"ocr": lines[:20]}}
    assert client.put(path, json=smaller, headers=alice.headers).status_code == 201
