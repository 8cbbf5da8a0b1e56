"""Fixtures of the media tests: the shared EXIF corpus, libvips set up as in service."""

from __future__ import annotations

import pytest

from photostore.media import DecodeLimits, configure_vips
from tests.media import corpus

# Stands in for the corpus files when the corpus is missing, so that the tests using
# them run and fail through the ``exif_corpus`` fixture instead of being skipped.
_MISSING = "<corpus missing>"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``expected_file`` and ``corpus_image`` over the corpus files."""
    available = corpus.corpus_exists()
    if "expected_file" in metafunc.fixturenames:
        names = sorted(corpus.expected_exif()) if available else [_MISSING]
        metafunc.parametrize("expected_file", names)
    if "corpus_image" in metafunc.fixturenames:
        names = corpus.corpus_images() if available else [_MISSING]
        metafunc.parametrize("corpus_image", names)


@pytest.fixture(scope="session", autouse=True)
def _vips_configured() -> None:
    """libvips as the service runs it: no operation cache, untrusted loaders blocked."""
    configure_vips()


@pytest.fixture
def limits() -> DecodeLimits:
    """The default decode limits: 100 MP, "small" 256 px and "preview" 1440 px."""
    return DecodeLimits()
