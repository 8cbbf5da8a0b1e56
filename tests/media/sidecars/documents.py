"""Sidecar documents as the tools that write them lay them out, for the tests to use.

The XMP ones follow what darktable, Lightroom Classic, digiKam and Immich (through
ExifTool) write: attribute form, element form, one description per namespace.
"""

from __future__ import annotations

import json

DARKTABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
   exif:DateTimeOriginal="2021:07:14 18:02:33.000"
   exif:GPSLatitude="48,51.4512N"
   exif:GPSLongitude="2,21.0774E"
   exif:GPSAltitude="3500/100"
   exif:GPSAltitudeRef="0"
   xmp:Rating="4"
   xmpMM:DerivedFrom="IMG_0042.CR2"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Paris</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|France|Paris</rdf:li>
     <rdf:li>darktable|changed</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

LIGHTROOM = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   xmp:ModifyDate="2022-03-05T10:11:12+01:00"
   xmp:CreateDate="2022-03-04T09:08:07.12"
   xmp:Rating="5"
   exif:DateTimeOriginal="2022-03-04T09:08:07.12"
   photoshop:DateCreated="2022-03-04T09:08:07.12"
   crs:Version="14.2"
   crs:Exposure2012="+0.35">
   <dc:title>
    <rdf:Alt>
     <rdf:li xml:lang="de">Hafen im Morgengrauen</rdf:li>
     <rdf:li xml:lang="x-default">Harbour at dawn</rdf:li>
    </rdf:Alt>
   </dc:title>
   <dc:description>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Fishing boats coming in</rdf:li>
    </rdf:Alt>
   </dc:description>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>boats</rdf:li>
     <rdf:li>Bergen</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Travel|Norway|Bergen</rdf:li>
     <rdf:li>boats</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
   xmp:Rating="3"
   exif:GPSVersionID="2.0.0.0"
   exif:GPSLatitude="35,39.6234N"
   exif:GPSLongitude="139,44.4228E"
   exif:GPSMapDatum="WGS-84">
   <xmp:CreateDate>2023-04-01T20:15:00+09:00</xmp:CreateDate>
   <dc:title>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Shibuya crossing</rdf:li>
    </rdf:Alt>
   </dc:title>
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/Alice</rdf:li>
     <rdf:li>Japan</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>People|Alice</rdf:li>
     <rdf:li>Japan</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Alice</rdf:li>
     <rdf:li>Japan</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Alice" mwg-rs:Type="Face">
        <dc:title>not the photo's title</dc:title>
        <mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.1" stArea:h="0.1"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
""".encode()

# What Immich's sidecar write job leaves, through ExifTool: one description per namespace.
IMMICH = b"""<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='Image::ExifTool 12.76'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about=''
  xmlns:dc='http://purl.org/dc/elements/1.1/'>
  <dc:description>
   <rdf:Alt>
    <rdf:li xml:lang='x-default'>Birthday cake</rdf:li>
   </rdf:Alt>
  </dc:description>
 </rdf:Description>
 <rdf:Description rdf:about=''
  xmlns:digiKam='http://www.digikam.org/ns/1.0/'>
  <digiKam:TagsList>
   <rdf:Bag>
    <rdf:li>Family/Birthday</rdf:li>
   </rdf:Bag>
  </digiKam:TagsList>
 </rdf:Description>
 <rdf:Description rdf:about=''
  xmlns:exif='http://ns.adobe.com/exif/1.0/'>
  <exif:DateTimeOriginal>2024-05-06T07:08:09.000+02:00</exif:DateTimeOriginal>
  <exif:GPSLatitude>52,31.2N</exif:GPSLatitude>
  <exif:GPSLongitude>13,24.6E</exif:GPSLongitude>
 </rdf:Description>
 <rdf:Description rdf:about=''
  xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'>
  <photoshop:DateCreated>2024-05-06T07:08:09.000+02:00</photoshop:DateCreated>
 </rdf:Description>
 <rdf:Description rdf:about=''
  xmlns:xmp='http://ns.adobe.com/xap/1.0/'>
  <xmp:Rating>5</xmp:Rating>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>
"""


def xmp(properties: str, namespaces: str = "") -> bytes:
    """A one-description XMP packet around ``properties`` (elements or attributes)."""
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:fstop="http://www.fstopapp.com/xmp/" {namespaces}
   {properties}
 </rdf:RDF>
</x:xmpmeta>
""".encode()


def takeout(**overrides: object) -> bytes:
    """A Takeout document as Google writes one for a photo, with ``overrides`` set
    (a value of None leaves the key out)."""
    document: dict[str, object] = {
        "title": "PXL_20230922_144936123.jpg",
        "description": "",
        "imageViews": "12",
        "creationTime": {"timestamp": "1695397525", "formatted": "22 Sept 2023, 15:45:25 UTC"},
        "photoTakenTime": {"timestamp": "1695394176", "formatted": "22 Sept 2023, 14:49:36 UTC"},
        "geoData": {
            "latitude": 48.7981917,
            "longitude": 2.4866832999999997,
            "altitude": 90.25,
            "latitudeSpan": 0.0,
            "longitudeSpan": 0.0,
        },
        "geoDataExif": {
            "latitude": 48.7981917,
            "longitude": 2.4866832999999997,
            "altitude": 90.25,
            "latitudeSpan": 0.0,
            "longitudeSpan": 0.0,
        },
        "url": "https://photos.google.com/photo/AF1Qip",
        "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
    }
    for key, value in overrides.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return json.dumps(document, indent=2).encode()


PHOTOPRISM = b"""TakenAt: 2020-08-15T16:20:00Z
TakenAtLocal: 2020-08-15T18:20:00Z
TakenSrc: meta
UID: pqbemz8276mhtobh
Type: image
Title: Sunset over the lake
TitleSrc: manual
Description: With friends after the swim
DescriptionSrc: manual
OriginalName: IMG_1234
Favorite: true
TimeZone: Europe/Berlin
PlaceSrc: meta
CellAccuracy: 0
Altitude: 412
Lat: 47.6012
Lng: 9.4121
Year: 2020
Month: 8
Day: 15
Details:
  Keywords: lake, sunset, swim
  KeywordsSrc: manual
CreatedAt: 2021-01-01T00:00:00Z
UpdatedAt: 2021-01-01T00:00:00Z
"""
