"""XMP sidecars (``IMG_1.jpg.xmp``, ``IMG_1.xmp``) as darktable, Lightroom, digiKam,
Immich and PhotoPrism write them.

The XML is read by expat with every document type declaration refused: XMP has no use
for one, and refusing it refuses entity expansion (the "billion laughs") and external
entities (a sidecar that names a local file or a URL) in one rule. What is read:

    title          dc:title (the x-default of its language alternatives)
    description    dc:description, else tiff:ImageDescription
    taken_at       exif:DateTimeOriginal, else photoshop:DateCreated, else xmp:CreateDate
    place          exif:GPSLatitude / exif:GPSLongitude ("51,30.5N"), exif:GPSAltitude(Ref)
    favorite       xmp:Rating of 5, or PhotoPrism's fstop:favorite="1"
    tags           digiKam:TagsList, else lr:hierarchicalSubject ("a|b" as "a/b"), else
                   dc:subject: the first that holds any, as Immich reads them

A property counts whether it is written as an attribute of ``rdf:Description`` or as an
element inside it; XMP allows both, and writers use both.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from typing import Final
from xml.parsers import expat

from photostore.domain.sidecars import SidecarFields
from photostore.errors import InvalidInput
from photostore.media.sidecars.values import (
    MAX_SIDECAR_BYTES,
    clean_text,
    finite,
    parse_xmp_date,
    plausible_place,
    usable_tags,
)

_RDF: Final = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
_DC: Final = "{http://purl.org/dc/elements/1.1/}"
_XMP: Final = "{http://ns.adobe.com/xap/1.0/}"
_EXIF: Final = "{http://ns.adobe.com/exif/1.0/}"
_TIFF: Final = "{http://ns.adobe.com/tiff/1.0/}"
_PHOTOSHOP: Final = "{http://ns.adobe.com/photoshop/1.0/}"
_LIGHTROOM: Final = "{http://ns.adobe.com/lightroom/1.0/}"
_DIGIKAM: Final = "{http://www.digikam.org/ns/1.0/}"
_FSTOP: Final = "{http://www.fstopapp.com/xmp/}"

_DATE_PROPERTIES: Final = (
    f"{_EXIF}DateTimeOriginal",
    f"{_PHOTOSHOP}DateCreated",
    f"{_XMP}CreateDate",
)
_CONTAINERS: Final = (f"{_RDF}Alt", f"{_RDF}Bag", f"{_RDF}Seq")
# "DDD,MM,SSk", "DDD,MM.mmk" (the XMP forms) or decimal degrees, signed or lettered.
_COORDINATE: Final = re.compile(
    r"(-?\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?(?:,(\d+(?:\.\d+)?))?\s*([NSEWnsew])?"
)
# darktable's own bookkeeping tags (darktable|format|nef, darktable|changed).
_TOOL_TAG_ROOTS: Final = frozenset({"darktable"})

# Real packets nest a dozen elements deep (a face region in a bag in a structure); far
# deeper is a document built to cost memory and time.
_MAX_DEPTH: Final = 64

_Value = str | ET.Element


def parse_xmp(data: bytes) -> SidecarFields:
    """The fields an XMP document sets; ``InvalidInput`` when it is not well-formed XML,
    declares a document type, or is over ``MAX_SIDECAR_BYTES``."""
    properties = _properties(_parse_tree(data))
    title = _first_text(properties, f"{_DC}title", "title")
    description = _first_text(properties, f"{_DC}description", "description")
    if description is None:
        description = _first_text(properties, f"{_TIFF}ImageDescription", "description")
    taken_at, offset = None, None
    for name in _DATE_PROPERTIES:
        text = _first_text(properties, name, "date")
        parsed = parse_xmp_date(text) if text is not None else None
        if parsed is not None:
            taken_at, offset = parsed
            break
    place = plausible_place(
        _coordinate(_first_text(properties, f"{_EXIF}GPSLatitude", "latitude"), "NS"),
        _coordinate(_first_text(properties, f"{_EXIF}GPSLongitude", "longitude"), "EW"),
    )
    return SidecarFields(
        title=title,
        description=description,
        taken_at=taken_at,
        taken_at_offset_minutes=offset,
        latitude=place[0] if place else None,
        longitude=place[1] if place else None,
        altitude=_altitude(properties) if place else None,
        favorite=_favorite(properties),
        tags=usable_tags(_tags(properties)),
    )


def _parse_tree(data: bytes) -> ET.Element:
    if len(data) > MAX_SIDECAR_BYTES:
        raise InvalidInput(f"an XMP sidecar must be at most {MAX_SIDECAR_BYTES} bytes")
    builder = ET.TreeBuilder()
    depth = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > _MAX_DEPTH:
            raise InvalidInput(f"an XMP sidecar may nest elements {_MAX_DEPTH} deep at most")
        builder.start(_clark(name), {_clark(key): value for key, value in attributes.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_clark(name))

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)  # noqa: FBT003 - expat takes isfinal by position only
    except expat.ExpatError as exc:
        raise InvalidInput(f"the XMP sidecar is not well-formed XML: {exc}") from exc
    return builder.close()


def _refuse_doctype(*_: object) -> None:
    raise InvalidInput("an XMP sidecar may not declare a document type (entities refused)")


def _refuse_entity(*_: object) -> None:
    raise InvalidInput("an XMP sidecar may not declare entities")


def _clark(name: str) -> str:
    """expat's ``"uri local"`` as ElementTree's ``"{uri}local"``."""
    uri, _, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if uri else local


def _properties(root: ET.Element) -> dict[str, list[_Value]]:
    """Every property of the top-level ``rdf:Description`` elements, in document order.

    Only the descriptions directly under ``rdf:RDF``: a description nested inside a
    property (a face region, a contact structure) describes that, not the photo.
    """
    found: dict[str, list[_Value]] = {}
    rdfs = [root] if root.tag == f"{_RDF}RDF" else list(root.iter(f"{_RDF}RDF"))
    for rdf in rdfs:
        for description in rdf.findall(f"{_RDF}Description"):
            for key, value in description.attrib.items():
                if not key.startswith((_RDF, "{http://www.w3.org/XML/1998/namespace}")):
                    found.setdefault(key, []).append(value)
            for child in description:
                found.setdefault(child.tag, []).append(child)
    return found


def _container(value: ET.Element) -> ET.Element | None:
    return next((child for child in value if child.tag in _CONTAINERS), None)


def _first_text(properties: dict[str, list[_Value]], name: str, what: str) -> str | None:
    """A simple or language-alternative property's text: the ``x-default`` entry first."""
    values = properties.get(name)
    if not values:
        return None
    value = values[0]
    if isinstance(value, str):
        return clean_text(value, what)
    container = _container(value)
    if container is None:
        return clean_text(value.text, what)
    items = container.findall(f"{_RDF}li")
    chosen = next((li for li in items if li.get(_XML_LANG) == "x-default"), None)
    if chosen is None and items:
        chosen = items[0]
    return clean_text(chosen.text, what) if chosen is not None else None


def _texts(properties: dict[str, list[_Value]], name: str) -> list[str]:
    """A bag's or sequence's entries (or one simple value), stripped, blanks left out."""
    entries: list[str] = []
    for value in properties.get(name, []):
        if isinstance(value, str):
            raw = [value]
        else:
            container = _container(value)
            items = container.findall(f"{_RDF}li") if container is not None else [value]
            raw = [item.text or "" for item in items]
        entries.extend(text for item in raw if (text := clean_text(item, "tags")) is not None)
    return entries


def _tags(properties: dict[str, list[_Value]]) -> list[str]:
    hierarchical = _texts(properties, f"{_DIGIKAM}TagsList") or [
        tag.replace("|", "/") for tag in _texts(properties, f"{_LIGHTROOM}hierarchicalSubject")
    ]
    if hierarchical:
        return [tag for tag in hierarchical if tag.split("/", 1)[0] not in _TOOL_TAG_ROOTS]
    return _texts(properties, f"{_DC}subject")


def _coordinate(text: str | None, letters: str) -> float | None:
    """Signed decimal degrees from an XMP GPS coordinate; None when it is not one."""
    if text is None:
        return None
    match = _COORDINATE.fullmatch(text.strip())
    if match is None:
        return None
    degrees_text, minutes, seconds, letter = match.groups()
    degrees = float(degrees_text)
    if degrees < 0 and (letter or minutes):
        return None
    value = abs(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    letter = (letter or "").upper()
    if letter and letter not in letters:
        return None
    negative = degrees < 0 or letter == letters[1]
    return finite(-value if negative else value)


def _altitude(properties: dict[str, list[_Value]]) -> float | None:
    """Metres above sea level from ``exif:GPSAltitude`` ("1234/10"), negative below."""
    text = _first_text(properties, f"{_EXIF}GPSAltitude", "altitude")
    if text is None:
        return None
    try:
        altitude = float(Fraction(text))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    below = _first_text(properties, f"{_EXIF}GPSAltitudeRef", "altitude") == "1"
    return finite(-altitude if below else altitude)


def _favorite(properties: dict[str, list[_Value]]) -> bool | None:
    """True for five stars or PhotoPrism's favorite flag; otherwise the sidecar says
    nothing: a lower rating does not undo a favorite another sidecar sets."""
    rating = _first_text(properties, f"{_XMP}Rating", "rating")
    fstop = _first_text(properties, f"{_FSTOP}favorite", "favorite")
    try:
        five_stars = rating is not None and float(rating) == 5
    except ValueError:
        five_stars = False
    return True if five_stars or fstop == "1" else None
