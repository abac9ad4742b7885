"""The characters a name or a device name must refuse, by class, and names that must still pass.

Shared by the service's and the mock's tests (the same contract, so the same answers). Each
refused character is tried at the end, at the start and in the middle of an otherwise good value.
"""

from __future__ import annotations

#: Character class → the characters of it the tests try.
REFUSED: dict[str, tuple[str, ...]] = {
    "c0-controls": ("\x00", "\t", "\n", "\r", "\x0b", "\x1b", "\x1f"),
    "del-and-c1-controls": ("\x7f", "\x80", "\x85", "\x9b", "\x9f"),
    "bidi-embeddings-and-overrides": ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e"),
    "bidi-isolates": ("\u2066", "\u2067", "\u2068", "\u2069"),
    "bidi-marks": ("\u200e", "\u200f", "\u061c"),
    "line-and-paragraph-separators": ("\u2028", "\u2029"),
}

#: Names of people that must pass (accents, CJK, Arabic, Cyrillic, apostrophes, hyphens, spaces).
GOOD_NAMES = ("Zoë", "José-María", "O'Brien", "李小龍", "محمد", "Анна-Мария", "Ngũgĩ wa Thiong'o", "Åsa Öberg")
#: Device names that must pass.
GOOD_DEVICES = ("Zoë's iPhone", "李的电脑 (Chrome)", "Firefox on Linux — work", "👩‍💻 laptop")


def spoofed(good: str, character: str) -> list[str]:
    """``good`` with ``character`` at its end, its start and in its middle."""
    middle = len(good) // 2
    return [good + character, character + good, good[:middle] + character + good[middle:]]
