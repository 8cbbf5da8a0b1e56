"""PhotoPrism's YAML sidecars: what a person or the file said counts, its guesses not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from photostore.errors import InvalidInput
from photostore.media.sidecars import parse_photoprism_yaml
from tests.media.sidecars import documents


def test_a_sidecar_as_photoprism_writes_it() -> None:
    fields = parse_photoprism_yaml(documents.PHOTOPRISM)
    assert fields.title == "Sunset over the lake"
    assert fields.description == "With friends after the swim"
    assert fields.taken_at == datetime(2020, 8, 15, 16, 20, tzinfo=UTC)
    assert fields.taken_at_offset_minutes == 120  # TakenAtLocal - TakenAt
    assert (fields.latitude, fields.longitude, fields.altitude) == (47.6012, 9.4121, 412.0)
    assert fields.favorite is True
    assert fields.tags == ("lake", "sunset", "swim")


def test_photoprism_s_own_guesses_are_left_out() -> None:
    guessed = (
        documents.PHOTOPRISM.replace(b"TitleSrc: manual", b"TitleSrc: ''")
        .replace(b"TakenSrc: meta", b"TakenSrc: name")
        .replace(b"PlaceSrc: meta", b"PlaceSrc: estimate")
        .replace(b"DescriptionSrc: manual\n", b"")
        .replace(b"KeywordsSrc: manual", b"KeywordsSrc: ''")
        .replace(b"Favorite: true", b"Favorite: false")
    )
    fields = parse_photoprism_yaml(guessed)
    assert fields.title is None
    assert fields.description is None
    assert fields.taken_at is None
    assert fields.latitude is None and fields.altitude is None
    assert fields.tags == ()
    assert fields.favorite is None


def test_a_local_time_beyond_any_zone_gives_no_offset() -> None:
    far = documents.PHOTOPRISM.replace(
        b"TakenAtLocal: 2020-08-15T18:20:00Z", b"TakenAtLocal: 2020-08-17T18:20:00Z"
    )
    fields = parse_photoprism_yaml(far)
    assert fields.taken_at == datetime(2020, 8, 15, 16, 20, tzinfo=UTC)
    assert fields.taken_at_offset_minutes is None


_ALIAS_BOMB = b"""a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
Title: *g
TitleSrc: manual
"""


def test_an_alias_bomb_costs_nothing_and_says_nothing() -> None:
    assert parse_photoprism_yaml(_ALIAS_BOMB).title is None


@pytest.mark.parametrize(
    "document",
    [
        b"- a list\n- of things\n",
        b"Title: [unclosed\n",
        b"!!python/object/apply:os.system ['true']\n",
        b"TakenAt: 2020-13-45T00:00:00Z\n",
        b'Title: "a\\0b"\nTitleSrc: manual\n',
    ],
    ids=["list", "broken", "python-tag", "impossible-date", "nul"],
)
def test_broken_or_hostile_yaml_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_photoprism_yaml(document)
