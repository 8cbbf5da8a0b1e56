"""Decoding: bombs refused before decoding, damaged photos kept and marked, thumbnails that
always work."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import pyvips
from numpy.typing import NDArray
from PIL import Image

import photostore.media
from photostore.errors import ImageTooLarge, InvalidImage
from photostore.media.decode import DecodedImage, DecodeLimits, configure_vips, probe_image
from photostore.media.sniff import ImageFormat
from tests import imagegen

# name: (maker of a 300x200 image, format, whether its thumbnails keep an alpha band)
FORMATS: dict[str, tuple[Callable[[Path], bytes], ImageFormat, bool]] = {
    "jpeg": (lambda p: imagegen.make_jpeg(p, 300, 200), ImageFormat.JPEG, False),
    "jpeg-grey": (lambda p: imagegen.make_jpeg(p, 300, 200, mode="L"), ImageFormat.JPEG, False),
    "jpeg-cmyk": (
        lambda p: imagegen.make_jpeg(p, 300, 200, mode="CMYK"),
        ImageFormat.JPEG,
        False,
    ),
    "png": (lambda p: imagegen.make_png(p, 300, 200), ImageFormat.PNG, False),
    "png-alpha": (lambda p: imagegen.make_png(p, 300, 200, alpha=True), ImageFormat.PNG, True),
    "png-16bit": (
        lambda p: imagegen.make_png(p, 300, 200, bit_depth=16, alpha=True),
        ImageFormat.PNG,
        True,
    ),
    "png-palette": (
        lambda p: imagegen.make_png(p, 300, 200, palette=True),
        ImageFormat.PNG,
        False,
    ),
    "webp": (lambda p: imagegen.make_webp(p, 300, 200), ImageFormat.WEBP, False),
    "webp-animated": (
        lambda p: imagegen.make_webp(p, 300, 200, frames=3),
        ImageFormat.WEBP,
        False,
    ),
    "gif-animated": (
        lambda p: imagegen.make_gif(p, 300, 200, frames=3),
        ImageFormat.GIF,
        False,
    ),
    "tiff-multipage": (
        lambda p: imagegen.make_tiff(p, 300, 200, pages=2, page_sizes=[(300, 200), (640, 480)]),
        ImageFormat.TIFF,
        False,
    ),
    "heic": (lambda p: imagegen.make_heic(p, 300, 200), ImageFormat.HEIC, False),
    "heic-alpha": (lambda p: imagegen.make_heic(p, 300, 200, alpha=True), ImageFormat.HEIC, True),
}


def open_webp(data: bytes) -> Image.Image:
    """Decode thumbnail bytes with Pillow, checking they are a WebP."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    image.load()
    return image


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_gives_8bit_srgb_webp_thumbnails_of_its_first_frame(
    tmp_path: Path, limits: DecodeLimits, name: str
) -> None:
    make, fmt, has_alpha = FORMATS[name]
    path = tmp_path / name
    make(path)

    decoded = probe_image(path, fmt, limits)

    assert decoded.damaged is False
    assert (decoded.width, decoded.height) == (300, 200)  # first frame, first page
    assert set(decoded.thumbnails) == {"small", "preview"}
    small = open_webp(decoded.thumbnails["small"])
    preview = open_webp(decoded.thumbnails["preview"])
    assert small.size == (256, 171)
    assert preview.size == (300, 200)  # smaller than 1440: never upscaled
    for thumbnail in (small, preview):
        assert thumbnail.mode == ("RGBA" if has_alpha else "RGB")
        assert thumbnail.getexif() == {}  # no EXIF (GPS!) and no orientation tag
        # Later animation frames are dark: a bright thumbnail shows the first frame.
        mean_brightness = sum(thumbnail.convert("L").histogram()[128:]) / (
            thumbnail.width * thumbnail.height
        )
        assert mean_brightness > 0.2


@pytest.mark.parametrize(
    ("size", "expected"),
    [((3000, 2000), (1440, 960)), ((1000, 3000), (480, 1440)), ((1440, 16), (1440, 16))],
)
def test_thumbnails_fit_their_long_edge(
    tmp_path: Path, limits: DecodeLimits, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    path = tmp_path / "big.jpg"
    imagegen.make_large_jpeg(path, *size)
    decoded = probe_image(path, ImageFormat.JPEG, limits)
    assert open_webp(decoded.thumbnails["preview"]).size == expected
    assert max(open_webp(decoded.thumbnails["small"]).size) == 256


def test_thumbnail_sizes_come_from_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    imagegen.make_png(path, 500, 250)
    limits = DecodeLimits(thumbnail_sizes={"tiny": 32, "medium": 400, "huge": 4000})
    thumbnails = probe_image(path, ImageFormat.PNG, limits).thumbnails
    sizes = {name: open_webp(data).size for name, data in thumbnails.items()}
    assert sizes == {"tiny": (32, 16), "medium": (400, 200), "huge": (500, 250)}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientations_5_to_8_swap_the_displayed_sides(
    tmp_path: Path, limits: DecodeLimits, orientation: int
) -> None:
    path = tmp_path / "turned.jpg"
    imagegen.make_jpeg(path, 400, 100, exif=imagegen.make_exif(orientation=orientation))
    decoded = probe_image(path, ImageFormat.JPEG, limits)
    turned = orientation >= 5
    assert decoded.orientation == orientation
    assert (decoded.raw_width, decoded.raw_height) == (400, 100)
    assert (decoded.width, decoded.height) == ((100, 400) if turned else (400, 100))
    assert open_webp(decoded.thumbnails["preview"]).size == (decoded.width, decoded.height)


def test_a_heic_is_shown_turned_as_its_transforms_say(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "turned.heic"
    imagegen.make_heic(path, 300, 200, exif=imagegen.make_exif(orientation=6))
    decoded = probe_image(path, ImageFormat.HEIC, limits)
    assert (decoded.width, decoded.height) == (200, 300)
    assert (decoded.raw_width, decoded.raw_height) == (300, 200)
    assert decoded.orientation == 6
    assert open_webp(decoded.thumbnails["preview"]).size == (200, 300)


def rgb(webp: bytes) -> NDArray[np.float64]:
    """A thumbnail's pixels as a ``height x width x 3`` float array."""
    return np.asarray(open_webp(webp).convert("RGB"), dtype=np.float64)


def mean_difference(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return float(np.abs(a - b).mean())


CUT: dict[str, tuple[Callable[[], bytes], ImageFormat]] = {
    "jpeg": (lambda: imagegen.make_jpeg(None, 300, 200), ImageFormat.JPEG),
    "progressive-jpeg": (lambda: imagegen.make_progressive_jpeg(None, 300, 200), ImageFormat.JPEG),
    "png": (lambda: imagegen.make_png(None, 300, 200), ImageFormat.PNG),
    "gif": (lambda: imagegen.make_gif(None, 300, 200), ImageFormat.GIF),
    "webp": (lambda: imagegen.make_webp(None, 300, 200), ImageFormat.WEBP),
    "tiff": (lambda: imagegen.make_tiff(None, 300, 200), ImageFormat.TIFF),
    "heic": (lambda: imagegen.make_heic(None, 300, 200), ImageFormat.HEIC),
}
# The decoders of these read nothing of a file cut short (see media.decode).
UNREADABLE_WHEN_CUT = frozenset({"webp", "tiff", "heic"})


@pytest.mark.parametrize("name", sorted(CUT.keys() - UNREADABLE_WHEN_CUT))
@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_a_cut_file_is_kept_as_damaged_with_thumbnails_of_what_decodes(
    tmp_path: Path, limits: DecodeLimits, name: str, fraction: float
) -> None:
    make, fmt = CUT[name]
    whole_path, cut_path = tmp_path / "whole", tmp_path / "cut"
    data = make()
    whole_path.write_bytes(data)
    cut_path.write_bytes(imagegen.truncate(data, fraction))
    whole = probe_image(whole_path, fmt, limits)

    cut = probe_image(cut_path, fmt, limits)

    assert cut.damaged is True
    assert (cut.width, cut.height) == (300, 200)
    assert open_webp(cut.thumbnails["small"]).size == (256, 171)
    assert open_webp(cut.thumbnails["preview"]).size == (300, 200)
    # The top of the picture is in the first bytes: it decodes as in the whole file.
    got, expected = rgb(cut.thumbnails["preview"]), rgb(whole.thumbnails["preview"])
    assert mean_difference(got[:40], expected[:40]) < 8
    if fraction == 0.5 and name != "progressive-jpeg":  # each scan covers the whole image
        assert mean_difference(got[-20:], expected[-20:]) > 20  # filled in, not decoded


@pytest.mark.parametrize("name", sorted(UNREADABLE_WHEN_CUT))
@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_a_cut_file_its_decoder_reads_nothing_of_is_refused_as_truncated(
    tmp_path: Path, limits: DecodeLimits, name: str, fraction: float
) -> None:
    make, fmt = CUT[name]
    path = tmp_path / name
    path.write_bytes(imagegen.truncate(make(), fraction))
    with pytest.raises(InvalidImage, match="truncated") as caught:
        probe_image(path, fmt, limits)
    assert fmt.label in caught.value.detail
    assert str(path) not in caught.value.detail  # server paths stay in the logs


DAMAGED: dict[str, tuple[Callable[[], bytes], ImageFormat]] = {
    "jpeg-cut": (lambda: imagegen.truncate(imagegen.make_jpeg(None, 300, 200)), ImageFormat.JPEG),
    "jpeg-corrupt-scan": (
        lambda: imagegen.with_corrupt_scan(imagegen.make_jpeg(None, 300, 200)),
        ImageFormat.JPEG,
    ),
    # The frame header claims more rows than the data holds: the rest is filled in.
    "jpeg-frame-larger-than-data": (
        lambda: imagegen.with_frame_size(imagegen.make_jpeg(None), 128, 96),
        ImageFormat.JPEG,
    ),
    "png-corrupt-idat": (
        lambda: imagegen.make_png(None, 300, 200)[:-400] + bytes(range(200)) + b"\x00" * 200,
        ImageFormat.PNG,
    ),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_data_is_kept_and_marked_unless_the_limits_refuse_it(
    tmp_path: Path, limits: DecodeLimits, name: str
) -> None:
    make, fmt = DAMAGED[name]
    path = tmp_path / name
    path.write_bytes(make())
    decoded = probe_image(path, fmt, limits)
    assert decoded.damaged is True
    assert open_webp(decoded.thumbnails["preview"]).size == (decoded.width, decoded.height)
    with pytest.raises(InvalidImage, match=r"corrupt|truncated"):
        probe_image(path, fmt, DecodeLimits(reject_damaged=True))


def test_a_corrupt_jpeg_scan_decodes_around_the_damage(
    tmp_path: Path, limits: DecodeLimits
) -> None:
    whole_path, damaged_path = tmp_path / "whole.jpg", tmp_path / "damaged.jpg"
    data = imagegen.make_jpeg(None, 300, 200)
    whole_path.write_bytes(data)
    damaged_path.write_bytes(imagegen.with_corrupt_scan(data))
    whole = rgb(probe_image(whole_path, ImageFormat.JPEG, limits).thumbnails["preview"])
    damaged = rgb(probe_image(damaged_path, ImageFormat.JPEG, limits).thumbnails["preview"])
    assert mean_difference(damaged[:40], whole[:40]) < 8
    assert mean_difference(damaged[-20:], whole[-20:]) > 10


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
            ImageFormat.PNG,
            "header says PNG but the data is not valid PNG",
        ),
        (
            b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
            ImageFormat.JPEG,
            "header says JPEG but the data is not valid JPEG",
        ),
        (
            b"RIFF\x00\x10\x00\x00WEBPVP8 " + bytes(range(256)) * 4,
            ImageFormat.WEBP,
            "header says WebP but the data is not valid WebP",
        ),
        (
            b"II*\x00\x08\x00\x00\x00" + b"\xff" * 300,
            ImageFormat.TIFF,
            "header says TIFF but the data is not valid TIFF",
        ),
        (
            imagegen.make_heic(None, 64, 48)[:40] + bytes(range(256)) * 4,
            ImageFormat.HEIC,
            "HEIC",
        ),
        (
            imagegen.make_heic_without_images(),
            ImageFormat.HEIC,
            "header says HEIC but the data is not valid HEIC",
        ),
        (
            # SOF with data precision 3: no such JPEG.
            imagegen.with_sof_byte(imagegen.make_jpeg(None), 4, 3),
            ImageFormat.JPEG,
            "header says JPEG but the data is not valid JPEG",
        ),
        (
            imagegen.with_frame_size(imagegen.make_jpeg(None), 300, 0),
            ImageFormat.JPEG,
            "header says JPEG but the data is not valid JPEG",
        ),
        (
            # SOF says 4000x3000 but the data holds 64x48: 0.03 % of it decodes.
            imagegen.with_frame_size(imagegen.make_jpeg(None), 4000, 3000),
            ImageFormat.JPEG,
            "JPEG file's header reads, but almost none of its image data decodes",
        ),
        (
            imagegen.cut_after_scan_header(imagegen.make_jpeg(None, 300, 200)),
            ImageFormat.JPEG,
            "no picture to keep",
        ),
        (
            imagegen.cut_after_scan_header(imagegen.make_progressive_jpeg(None, 300, 200)),
            ImageFormat.JPEG,
            "no picture to keep",
        ),
        (
            imagegen.cut_before_image_data(imagegen.make_png(None, 300, 200)),
            ImageFormat.PNG,
            "header says PNG but the data is not valid PNG",
        ),
    ],
    ids=[
        "png-magic-then-garbage",
        "jpeg-magic-then-garbage",
        "webp-magic-then-garbage",
        "tiff-magic-then-garbage",
        "heic-ftyp-then-garbage",
        "heic-without-images",
        "jpeg-sof-precision-3",
        "jpeg-sof-height-0",
        "jpeg-sof-larger-than-data",
        "jpeg-headers-only",
        "progressive-jpeg-headers-only",
        "png-header-only",
    ],
)
def test_a_file_whose_header_lies_or_data_is_corrupt_is_rejected(
    tmp_path: Path, limits: DecodeLimits, data: bytes, fmt: ImageFormat, message: str
) -> None:
    path = tmp_path / "liar"
    path.write_bytes(data)
    with pytest.raises(InvalidImage, match=message):
        probe_image(path, fmt, limits)


BOMBS: dict[str, tuple[Callable[[int, int], bytes], ImageFormat]] = {
    "png": (imagegen.make_png_bomb, ImageFormat.PNG),
    "jpeg": (imagegen.make_jpeg_bomb, ImageFormat.JPEG),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize("size", [(60_000, 60_000), (12_000, 9_000), (65_000, 1_600)])
def test_a_decompression_bomb_is_refused_from_its_header_alone(
    tmp_path: Path, limits: DecodeLimits, name: str, size: tuple[int, int]
) -> None:
    make, fmt = BOMBS[name]
    path = tmp_path / name
    path.write_bytes(make(*size))
    started = time.perf_counter()
    width, height = size
    with pytest.raises(
        InvalidImage, match=rf"{width}x{height} = {width * height:,} pixels; .* 100,000,000 pixels"
    ):
        probe_image(path, fmt, limits)
    assert time.perf_counter() - started < 0.5


def test_a_side_longer_than_65535_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.png"
    path.write_bytes(imagegen.make_png_bomb(70_000, 1))
    with pytest.raises(InvalidImage, match="65535 pixels per side"):
        probe_image(path, ImageFormat.PNG, DecodeLimits(max_pixels=10**9))


def test_the_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    imagegen.make_png(path, 100, 100)
    with pytest.raises(InvalidImage, match=r"100x100 = 10,000 pixels; .* at most 9,999 pixels"):
        probe_image(path, ImageFormat.PNG, DecodeLimits(max_pixels=9_999))
    assert probe_image(path, ImageFormat.PNG, DecodeLimits(max_pixels=10_000)).width == 100


_BOMB_SCRIPT = """
import json, resource, sys
from pathlib import Path
from photostore.errors import ImageTooLarge, InvalidImage
from photostore.media import DecodeLimits, ImageFormat, configure_vips, probe_image

configure_vips()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
refused = 0
for name, fmt in [("bomb.png", ImageFormat.PNG), ("bomb.jpg", ImageFormat.JPEG)]:
    try:
        probe_image(Path(sys.argv[1]) / name, fmt, DecodeLimits())
    except InvalidImage:
        refused += 1
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"refused": refused, "growth_kib": after - before}))
"""


@pytest.mark.slow  # a fresh interpreter
def test_refusing_a_bomb_keeps_memory_small(tmp_path: Path) -> None:
    # Peak RSS is per process and only grows, so measure in a fresh interpreter.
    (tmp_path / "bomb.png").write_bytes(imagegen.make_png_bomb(60_000, 60_000))
    (tmp_path / "bomb.jpg").write_bytes(imagegen.make_jpeg_bomb(60_000, 60_000))
    src = Path(photostore.media.__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", _BOMB_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    result = json.loads(completed.stdout)
    assert result["refused"] == 2
    assert result["growth_kib"] < 200 * 1024  # decoding either would take gigabytes


def test_decoding_raises_nothing_but_invalid_image_on_random_bytes(
    tmp_path: Path, limits: DecodeLimits
) -> None:
    path = tmp_path / "noise"
    heads = {
        ImageFormat.JPEG: b"\xff\xd8\xff",
        ImageFormat.PNG: b"\x89PNG\r\n\x1a\n",
        ImageFormat.GIF: b"GIF89a",
        ImageFormat.WEBP: b"RIFF\xff\x00\x00\x00WEBPVP8L",
        ImageFormat.TIFF: b"MM\x00*",
        ImageFormat.HEIC: imagegen.make_heic(None, 16, 16)[:32],
    }
    for seed in range(5):
        noise = imagegen.pixels(64, 16, seed=seed).tobytes()
        for fmt, head in heads.items():
            path.write_bytes(head + noise)
            with pytest.raises(InvalidImage):
                probe_image(path, fmt, limits)


def test_decode_limits_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        DecodeLimits(max_pixels=0)
    with pytest.raises(ValueError, match="thumbnail_sizes"):
        DecodeLimits(thumbnail_sizes={})
    with pytest.raises(ValueError, match="thumbnail_sizes"):
        DecodeLimits(thumbnail_sizes={"zero": 0})


def test_configure_vips_turns_the_operation_cache_off() -> None:
    configure_vips()
    assert pyvips.cache_get_max() == 0
    assert pyvips.cache_get_max_mem() == 0
    assert pyvips.cache_get_max_files() == 0


def test_decoded_image_is_immutable(tmp_path: Path, limits: DecodeLimits) -> None:
    path = tmp_path / "image.png"
    imagegen.make_png(path, 10, 10)
    decoded = probe_image(path, ImageFormat.PNG, limits)
    assert isinstance(decoded, DecodedImage)
    with pytest.raises(AttributeError):
        decoded.width = 5  # type: ignore[misc]


@pytest.mark.parametrize("name", ["photo.jpg[shrink=8]", "a[1].jpg", "weird name;$(x).jpg"])
def test_file_names_are_never_read_as_libvips_options(
    tmp_path: Path, limits: DecodeLimits, name: str
) -> None:
    path = tmp_path / name
    imagegen.make_jpeg(path, 400, 200)
    decoded = probe_image(path, ImageFormat.JPEG, limits)
    assert (decoded.width, decoded.height) == (400, 200)
    assert open_webp(decoded.thumbnails["preview"]).size == (400, 200)


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (lambda p: imagegen.make_heic(p, 300, 200), ImageFormat.HEIC),
        (lambda p: imagegen.make_progressive_jpeg(p, 300, 200), ImageFormat.JPEG),
    ],
    ids=["heic", "progressive-jpeg"],
)
def test_full_frame_decodes_are_refused_over_the_memory_budget_from_the_header(
    tmp_path: Path, make: Callable[[Path], bytes], fmt: ImageFormat
) -> None:
    path = tmp_path / "image"
    make(path)
    assert probe_image(path, fmt, DecodeLimits()).width == 300
    # 60,000 pixels at 10 (progressive JPEG) or 16 (HEIC) bytes each: over 500 kB.
    with pytest.raises(ImageTooLarge, match="300x200"):
        probe_image(path, fmt, DecodeLimits(max_decode_bytes=500_000))


def test_streamed_decodes_are_bounded_by_the_pixel_count_alone(tmp_path: Path) -> None:
    path = tmp_path / "baseline.jpg"
    imagegen.make_jpeg(path, 300, 200)
    assert probe_image(path, ImageFormat.JPEG, DecodeLimits(max_decode_bytes=1)).width == 300
