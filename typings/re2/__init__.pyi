"""Types for the part of `google-re2` (import name `re2`) that teleport_access uses.

The package ships no type information. These signatures follow its `re2/__init__.py`: a str
pattern is compiled as UTF-8, a match's spans and groups have the type of the searched text, and
an invalid pattern raises `error` (there is no fallback to Python's `re`).
"""

from typing import AnyStr, Generic

class error(Exception): ...

class Options:
    max_mem: int
    posix_syntax: bool
    longest_match: bool
    log_errors: bool
    literal: bool
    never_nl: bool
    dot_nl: bool
    never_capture: bool
    case_sensitive: bool
    perl_classes: bool
    word_boundary: bool
    one_line: bool
    def __init__(self) -> None: ...

class _Match(Generic[AnyStr]):
    def span(self, group: int = 0) -> tuple[int, int]: ...
    def start(self, group: int = 0) -> int: ...
    def end(self, group: int = 0) -> int: ...
    def group(self, group: int | str = 0, /) -> AnyStr | None: ...

class _Regexp:
    @property
    def pattern(self) -> str | bytes: ...
    @property
    def groups(self) -> int: ...
    @property
    def groupindex(self) -> dict[str, int]: ...
    def search(
        self, text: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> _Match[AnyStr] | None: ...
    def match(
        self, text: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> _Match[AnyStr] | None: ...
    def fullmatch(
        self, text: AnyStr, pos: int | None = None, endpos: int | None = None
    ) -> _Match[AnyStr] | None: ...

def compile(pattern: str | bytes, options: Options | None = None) -> _Regexp: ...
