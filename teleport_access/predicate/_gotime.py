"""Go's `time.Parse` for the two layouts the language uses, with Go's error messages.

- `time.RFC3339` ("2006-01-02T15:04:05Z07:00") for `time.RFC3339(...)`. Like Go it also takes a
  fractional second (`.` or `,`, digits past the ninth ignored), a one-digit hour, an offset of up
  to 24:60, and checks the day against the month.
- "15:04" for schedule shifts: a one- or two-digit hour 0-23, a colon, two minute digits 0-59.

Messages are Go's: `parsing time "24:00": hour out of range`, `parsing time "x" as
"2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`, `... extra text: ":56"`.
"""

from __future__ import annotations

from typing import Final

from teleport_access.predicate._values import GoTime, days_from_civil

RFC3339: Final = "2006-01-02T15:04:05Z07:00"
CLOCK: Final = "15:04"

# (literal prefix, element) pairs of each layout, as Go's nextStdChunk splits them.
_RFC3339_CHUNKS: Final = (
    ("", "2006"),
    ("-", "01"),
    ("-", "02"),
    ("T", "15"),
    (":", "04"),
    (":", "05"),
    ("", "Z07:00"),
)
_CLOCK_CHUNKS: Final = (("", "15"), (":", "04"))
_DAYS_IN: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class TimeParseError(ValueError):
    """Go's `*time.ParseError`; `str()` is Go's message."""


def go_time_quote(text: str) -> str:
    """The quoting Go's time package uses in its messages: non-ASCII as \\x escapes of UTF-8."""
    out = ['"']
    for c in text:
        if c < " " or ord(c) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
        else:
            out.append("\\" + c if c in '"\\' else c)
    out.append('"')
    return "".join(out)


class _Fields:
    __slots__ = ("day", "hour", "minute", "month", "nsec", "offset", "second", "year")

    def __init__(self) -> None:
        self.year, self.month, self.day = 0, 1, 1
        self.hour = self.minute = self.second = self.nsec = self.offset = 0


def _getnum(value: str, fixed: bool) -> tuple[int, str] | None:
    """Go's getnum: one or two leading digits (exactly two when `fixed`)."""
    if not value[:1].isdigit() or not value[:1].isascii():
        return None
    if len(value) < 2 or not (value[1].isdigit() and value[1].isascii()):
        if fixed:
            return None
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def _atoi(text: str) -> int | None:
    """Go's internal atoi: an optional sign and ASCII digits."""
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if not text or not (text.isascii() and text.isdigit()):
        return None
    return sign * int(text)


def _parse(layout: str, chunks: tuple[tuple[str, str], ...], original: str) -> _Fields:
    def cannot(value: str, element: str) -> TimeParseError:
        return TimeParseError(
            f"parsing time {go_time_quote(original)} as {go_time_quote(layout)}: "
            f"cannot parse {go_time_quote(value)} as {go_time_quote(element)}"
        )

    def out_of_range(what: str) -> TimeParseError:
        return TimeParseError(f"parsing time {go_time_quote(original)}: {what} out of range")

    fields = _Fields()
    value = original
    for prefix, element in chunks:
        if prefix:
            if not value.startswith(prefix):
                raise cannot(value, prefix)
            value = value[len(prefix) :]
        hold = value
        if element == "2006":
            year = _atoi(value[:4]) if len(value) >= 4 else None
            if year is None:
                raise cannot(hold, element)
            fields.year, value = year, value[4:]
        elif element in ("01", "02", "15", "04", "05"):
            got = _getnum(value, element != "15")
            if got is None:
                raise cannot(hold, element)
            number, value = got
            if element == "01":
                if not 1 <= number <= 12:
                    raise out_of_range("month")
                fields.month = number
            elif element == "02":
                fields.day = number
            elif element == "15":
                if number >= 24:
                    raise out_of_range("hour")
                fields.hour = number
            elif element == "04":
                if number >= 60:
                    raise out_of_range("minute")
                fields.minute = number
            else:
                if number >= 60:
                    raise out_of_range("second")
                fields.second = number
                # A fractional second the layout does not mention is still read.
                if (
                    len(value) >= 2
                    and value[0] in ".,"
                    and value[1].isascii()
                    and value[1].isdigit()
                ):
                    n = 2
                    while n < len(value) and value[n].isascii() and value[n].isdigit():
                        n += 1
                    digits = value[1 : min(n, 10)]
                    fields.nsec = int(digits) * 10 ** (9 - len(digits))
                    value = value[n:]
        else:  # Z07:00
            if value.startswith("Z"):
                value = value[1:]
                continue
            if len(value) < 6 or value[3] != ":" or value[0] not in "+-":
                raise cannot(hold, element)
            hours, minutes = _getnum(value[1:3], True), _getnum(value[4:6], True)
            if hours is None or minutes is None:
                raise cannot(hold, element)
            if hours[0] > 24:
                raise out_of_range("time zone offset hour")
            if minutes[0] > 60:
                raise out_of_range("time zone offset minute")
            offset = (hours[0] * 60 + minutes[0]) * 60
            fields.offset = offset if value[0] == "+" else -offset
            value = value[6:]
    if value:
        raise TimeParseError(
            f"parsing time {go_time_quote(original)}: extra text: {go_time_quote(value)}"
        )
    if fields.day < 1 or fields.day > _days_in(fields.month, fields.year):
        raise out_of_range("day")
    return fields


def _days_in(month: int, year: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN[month - 1]


def parse_rfc3339(text: str) -> GoTime:
    """Go's `time.Parse(time.RFC3339, text)`. Raises TimeParseError with Go's message."""
    f = _parse(RFC3339, _RFC3339_CHUNKS, text)
    seconds = days_from_civil(f.year, f.month, f.day) * 86_400
    seconds += f.hour * 3600 + f.minute * 60 + f.second - f.offset
    return GoTime(seconds * 1_000_000_000 + f.nsec)


def parse_clock(text: str) -> tuple[int, int]:
    """Go's `time.Parse("15:04", text)`: (hour, minute). Raises TimeParseError."""
    f = _parse(CLOCK, _CLOCK_CHUNKS, text)
    return f.hour, f.minute
