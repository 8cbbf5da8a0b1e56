"""What an import did: stored, already stored, and each file passed over, by reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Reasons a file is passed over; a refused file's reason carries the refusal's words.
ALREADY_STORED = "already stored"
NOT_AN_IMAGE = "not an image photostore accepts"
DAMAGED = "a damaged or undecodable image"
TOO_MANY_PIXELS = "more pixels than the decode limit"
TOO_LARGE = "larger than the upload limit"
UNREADABLE = "a file that could not be read"
MISSING = "missing from the export"
NOT_AS_LISTED = "not the bytes library.json lists"

#: Example paths kept for each reason.
EXAMPLES = 5


@dataclass
class ImportSummary:
    """Counts of an import, with up to ``EXAMPLES`` paths of each reason a file was
    passed over; ``notes`` counts what was imported without a part of it (a sidecar
    that could not be read)."""

    stored: int = 0
    already_stored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, path: str) -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES:
            shown.append(path)

    @property
    def files(self) -> int:
        return self.stored + self.already_stored + sum(self.skipped.values())

    def lines(self) -> list[str]:
        """The summary as printed: counts, then each reason with its examples."""
        lines = [
            f"{self.stored} stored, {self.already_stored} already stored, "
            f"{sum(self.skipped.values())} skipped"
        ]
        for reason, count in self.skipped.most_common():
            lines.append(f"  skipped {count}: {reason}")
            lines.extend(f"    {path}" for path in self.examples.get(reason, []))
        for note, count in self.notes.most_common():
            lines.append(f"  {count} imported without their sidecar: {note}")
        return lines
