"""Recognising the plugin's notes on an incident, so a note is never posted twice.

A note whose post failed ambiguously, or that was claimed by a run that died, is looked for on
the incident before it is posted (again). Review notes are recognised by their author line, not
their whole text: Teleport lets a user review a request once, so the author names the review, and
the time after it is left out because the plugin that posted the note (the Go plugin, in another
time zone) may have written the same moment differently. Any other note is its whole text.
PagerDuty may trim trailing whitespace, so it never counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["missing_notes", "note_key", "same_note"]

#: The first line of a review note, up to the review's time (see `review_note`).
_REVIEWED_AT = " reviewed the request at "


def note_key(text: str) -> str:
    """What identifies a note on its incident: `<author> reviewed the request at` for a review
    note, else the whole text without trailing whitespace."""
    first = text.partition("\n")[0]
    author, found, _ = first.partition(_REVIEWED_AT)
    return author + found if found else text.rstrip()


def same_note(stored: str, ours: str) -> bool:
    """Whether the note `stored` on the incident is the note `ours` (see `note_key`)."""
    return note_key(stored) == note_key(ours)


def missing_notes(wanted: Sequence[str], present: Sequence[str]) -> list[str]:
    """The notes of `wanted` not in `present`, counting repeats, in `wanted`'s order."""
    available = Counter(note_key(text) for text in present)
    missing = []
    for text in wanted:
        key = note_key(text)
        if available[key] > 0:
            available[key] -= 1
        else:
            missing.append(text)
    return missing
