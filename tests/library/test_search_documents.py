"""Search documents: a word from each source makes the image findable, with its weight;
changes of the sources rebuild the document in the same transaction."""

from __future__ import annotations

import asyncio
import uuid

from fastapi.testclient import TestClient

from photostore.db.search.filters import candidate_images
from photostore.db.search.text import TextReads
from photostore.db.session import Database, make_engine
from photostore.domain.search import SearchFilters
from photostore.search.text import rank_text
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.library.factories import make_analysis, make_face, make_image, make_person, make_tag


def _matches(database: ScratchDatabase, account: Account, query: str) -> list[str]:
    """Image ids full-text search finds, through the service role under RLS."""

    async def run() -> list[uuid.UUID]:
        db = Database(make_engine(database.app_url, 1))
        try:
            async with db.for_user(account.id) as session:
                candidates = candidate_images(account.id, SearchFilters())
                hits = await rank_text(TextReads(session, account.id), query, candidates, 100)
                return [hit.image_id for hit in hits]
        finally:
            await db.dispose()

    return [str(i) for i in asyncio.run(run())]


def _weights(database: ScratchDatabase, account: Account, image_id: str) -> str:
    """The document as text: 'word':positionWEIGHT entries."""
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(account.id),))
        row = conn.execute(
            "SELECT document::text FROM search_documents WHERE image_id = %s", (image_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_word_from_each_source_finds_the_image(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    image = make_image(client, alice, description="Sunset over Marseille", tags=["Holiday"])
    make_analysis(
        client,
        alice,
        image,
        payload={
            "scenes": [{"label": "Harbour", "confidence": 0.9}],
            "ocr": [{"text": "BOULANGERIE open"}],
            "caption": "Boats at anchor",
        },
    )
    person = make_person(client, alice, "Zinedine")
    make_face(client, alice, image, person)
    for word in ["marseille", "holiday", "harbour", "boulangerie", "boats", "zinedine", "photo"]:
        assert _matches(database, alice, word) == [image], word
    assert _matches(database, alice, "harbour -boats") == []
    document = _weights(database, alice, image)
    for entry in ["'holiday':1A", "'zinedine':2A", "'harbour':3A", "'boats':4B", "'sunset':7B"]:
        assert entry in document, document
    assert "'boulangerie':10C" in document
    assert "'jpg'" in document


def test_the_filename_is_split_at_separators(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    data = imagegen.make_png(None, 8, 8, seed=77)
    image = upload(client, alice, data, filename="IMG_2041-paris.trip.png").json()["id"]
    for word in ["img", "2041", "paris", "trip"]:
        assert _matches(database, alice, word) == [image], word


def test_changes_of_sources_rebuild_the_document(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    image = make_image(client, alice)
    tag = make_tag(client, alice, "Winter")
    client.post(f"/v1/tags/{tag}/images", json={"image_ids": [image]}, headers=alice.headers)
    assert _matches(database, alice, "winter") == [image]
    client.patch(f"/v1/tags/{tag}", json={"name": "Summer"}, headers=alice.headers)
    assert _matches(database, alice, "winter") == []
    assert _matches(database, alice, "summer") == [image]
    client.post(f"/v1/tags/{tag}/images/remove", json={"image_ids": [image]}, headers=alice.headers)
    assert _matches(database, alice, "summer") == []

    client.patch(f"/v1/images/{image}", json={"description": "kayak"}, headers=alice.headers)
    assert _matches(database, alice, "kayak") == [image]

    person = make_person(client, alice, "Grace")
    face = make_face(client, alice, image, person)
    assert _matches(database, alice, "grace") == [image]
    client.patch(f"/v1/people/{person}", json={"name": "Hopper"}, headers=alice.headers)
    assert _matches(database, alice, "grace") == []
    assert _matches(database, alice, "hopper") == [image]
    client.patch(f"/v1/people/{person}", json={"hidden": True}, headers=alice.headers)
    assert _matches(database, alice, "hopper") == []
    client.patch(f"/v1/people/{person}", json={"hidden": False}, headers=alice.headers)
    client.patch(f"/v1/faces/{face}", json={"person_id": None}, headers=alice.headers)
    assert _matches(database, alice, "hopper") == []
    client.patch(f"/v1/faces/{face}", json={"person_id": person}, headers=alice.headers)
    assert _matches(database, alice, "hopper") == [image]
    client.delete(f"/v1/people/{person}", headers=alice.headers)
    assert _matches(database, alice, "hopper") == []


def test_merging_and_deleting_tags_and_faces_update_names(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    image = make_image(client, alice)
    kept = make_person(client, alice, "Ada")
    merged = make_person(client, alice, "Lovelace")
    face = make_face(client, alice, image, merged)
    assert _matches(database, alice, "lovelace") == [image]
    client.post(f"/v1/people/{kept}/merge", json={"person_ids": [merged]}, headers=alice.headers)
    assert _matches(database, alice, "lovelace") == []
    assert _matches(database, alice, "ada") == [image]
    client.delete(f"/v1/faces/{face}", headers=alice.headers)
    assert _matches(database, alice, "ada") == []

    tag = make_tag(client, alice, "Gone")
    client.post(f"/v1/tags/{tag}/images", json={"image_ids": [image]}, headers=alice.headers)
    client.delete(f"/v1/tags/{tag}", headers=alice.headers)
    assert _matches(database, alice, "gone") == []


def test_matches_are_one_users_and_leave_out_the_trash(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    mine = make_image(client, alice, description="lighthouse")
    trashed = make_image(client, alice, description="lighthouse at night")
    make_image(client, bob, description="lighthouse")
    client.delete(f"/v1/images/{trashed}", headers=alice.headers)
    assert _matches(database, alice, "lighthouse") == [mine]
    assert _matches(database, alice, "") == []


def test_the_service_role_sees_only_the_current_users_documents(
    client: TestClient, alice: Account, bob: Account, database: ScratchDatabase
) -> None:
    make_image(client, alice, description="secret")
    make_image(client, bob, description="secret")
    with database.app_connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(bob.id),))
        rows = conn.execute(
            "SELECT owner_id FROM search_documents "
            "WHERE document @@ websearch_to_tsquery('simple', 'secret')"
        ).fetchall()
    assert rows == [(bob.id,)]
