"""The ``Prefer`` request header (RFC 7240) as the mock reads it: ``code``, ``example``, ``dynamic``, ``delay``.

``Prefer: code=409``, ``Prefer: example=refresh_token_reused``, ``Prefer: dynamic=true`` and
``Prefer: delay=300`` (milliseconds) may be combined in one header (comma-separated) or sent as
several. Preferences the mock does not know are ignored, as RFC 7240 asks; a known preference
with a value that makes no sense is a 400, so a typo does not pass silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from authspec.errors import BadRequest

MAX_DELAY_MS = 30_000


@dataclass(frozen=True)
class Preferences:
    """What one request asked of the mock."""

    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    delay_ms: int = 0

    @property
    def overrides(self) -> bool:
        """True when the answer should come from the contract rather than the world."""
        return self.code is not None or self.example is not None or self.dynamic

    def applied(self) -> str:
        """The ``Preference-Applied`` header value."""
        parts = []
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.example is not None:
            parts.append(f"example={self.example}")
        if self.dynamic:
            parts.append("dynamic=true")
        if self.delay_ms:
            parts.append(f"delay={self.delay_ms}")
        return ", ".join(parts)


NONE = Preferences()


def parse_prefer(values: list[str]) -> Preferences:
    """Parse every ``Prefer`` header value of a request; raises ``BadRequest`` on a bad value."""
    found: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            token = item.split(";", 1)[0].strip()  # parameters after ';' are not used
            if not token:
                continue
            name, _, raw = token.partition("=")
            found[name.strip().lower()] = raw.strip().strip('"')
    if not found.keys() & {"code", "example", "dynamic", "delay"}:
        return NONE
    return Preferences(
        code=_code(found["code"]) if "code" in found else None,
        example=_example(found["example"]) if "example" in found else None,
        dynamic=_flag(found["dynamic"]) if "dynamic" in found else False,
        delay_ms=_delay(found["delay"]) if "delay" in found else 0,
    )


def _code(raw: str) -> int:
    if not raw.isdigit() or not 100 <= int(raw) <= 599:
        raise BadRequest(f"Prefer: code={raw} is not an HTTP status (100-599)")
    return int(raw)


def _example(raw: str) -> str:
    if not raw or len(raw) > 100:
        raise BadRequest("Prefer: example= needs the name of one of the operation's examples")
    return raw


def _flag(raw: str) -> bool:
    if raw.lower() in ("", "true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise BadRequest(f"Prefer: dynamic={raw} is neither true nor false")


def _delay(raw: str) -> int:
    if not raw.isdigit() or int(raw) > MAX_DELAY_MS:
        raise BadRequest(f"Prefer: delay={raw} must be a number of milliseconds from 0 to {MAX_DELAY_MS}")
    return int(raw)
