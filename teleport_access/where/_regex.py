"""Go RE2 regular expressions, validated and translated to Python's `re`.

Teleport compiles patterns with Go's `regexp` (RE2 syntax, Perl flags). Python's `re` accepts a
different language: it has lookaround, backreferences, possessive quantifiers and `{,n}`; it lacks
POSIX classes, `\\Q...\\E`, `\\z`, `\\p{..}` and mid-pattern `(?i)`; its `\\d \\s \\w \\b` are
Unicode-aware where Go's are ASCII; its `$` also matches before a final newline. So a pattern is
never handed to `re` as is: `_Parser` reads it exactly as Go's `regexp/syntax` does (same errors,
same messages), builds a small tree, and `_emit` writes an equivalent Python pattern.

Known gaps, all reported as `UnsupportedRegex` rather than answered wrongly: Unicode *script*
classes (`\\p{Greek}`; Python has no script data) and nesting deeper than `MAX_NESTING`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

#: Go's limit on `{n,m}` counts.
_MAX_REPEAT = 1000
#: Deeper nesting is refused (Go allows 1000, but Python's `re` compiler recurses per level).
MAX_NESTING = 100
_MAX_RUNE = 0x10FFFF


class RegexError(Exception):
    """Go would refuse to compile the pattern. `str()` is Go's own wording."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(code, expr)
        self.code = code
        self.expr = expr

    def __str__(self) -> str:
        return f"error parsing regexp: {self.code}: `{self.expr}`"


class UnsupportedRegex(RegexError):
    """A valid RE2 pattern this implementation cannot evaluate faithfully."""

    def __str__(self) -> str:
        return f"{self.code}: `{self.expr}`"


# Go's error codes (regexp/syntax ErrorCode strings).
_INVALID_CHAR_CLASS = "invalid character class"
_INVALID_CHAR_RANGE = "invalid character class range"
_INVALID_ESCAPE = "invalid escape sequence"
_INVALID_NAMED_CAPTURE = "invalid named capture"
_INVALID_PERL_OP = "invalid or unsupported Perl syntax"
_INVALID_REPEAT_OP = "invalid nested repetition operator"
_INVALID_REPEAT_SIZE = "invalid repeat count"
_INVALID_UTF8 = "invalid UTF-8"
_MISSING_BRACKET = "missing closing ]"
_MISSING_PAREN = "missing closing )"
_MISSING_REPEAT_ARGUMENT = "missing argument to repetition operator"
_TRAILING_BACKSLASH = "trailing backslash at end of expression"
_UNEXPECTED_PAREN = "unexpected )"
_NESTING_DEPTH = "expression nests too deeply"

# Flags, as in Go's parser.
_FOLD = 1  # (?i)
_MULTILINE = 2  # (?m): ^ and $ match at line boundaries
_DOTNL = 4  # (?s)
_NONGREEDY = 8  # (?U)

Ranges = list[tuple[int, int]]

_SURROGATE = re.compile("[\ud800-\udfff]")

# ---------------------------------------------------------------------------------------------
# Character classes

_PERL_CLASSES: dict[str, tuple[bool, Ranges]] = {
    "d": (False, [(0x30, 0x39)]),
    "D": (True, [(0x30, 0x39)]),
    "s": (False, [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]),
    "S": (True, [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]),
    "w": (False, [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]),
    "W": (True, [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]),
}

_POSIX_CLASSES: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}

#: Go's `unicode.Categories` keys. One-letter names are unions of their two-letter members; Go's
#: `C` is Cc|Cf|Co|Cs (unassigned code points, Cn, are in no category).
_CATEGORIES = frozenset(
    "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps "  # noqa: SIM905
    "S Sc Sk Sm So Z Zl Zp Zs".split()
)

#: Unicode script names Go's `\p{..}` accepts; recognised so we can say "unsupported" instead of
#: "invalid".
_SCRIPTS = frozenset(
    """Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
    Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian
    Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cypro_Minoan
    Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic
    Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul
    Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited
    Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li
    Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B
    Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi
    Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi
    Mongolian Mro Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu
    Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian Old_Permic
    Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya
    Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan
    Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese
    Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu
    Thaana Thai Tibetan Tifinagh Tirhuta Toto Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi
    Zanabazar_Square""".split()  # noqa: SIM905
)


@functools.cache
def _category_table() -> dict[str, Ranges]:
    """Code point ranges of every general category, built once from `unicodedata` (~0.5 s)."""
    table: dict[str, Ranges] = {}
    category = unicodedata.category
    current, start = category(chr(0)), 0
    for cp in range(1, _MAX_RUNE + 2):
        cat = category(chr(cp)) if cp <= _MAX_RUNE else ""
        if cat != current:
            table.setdefault(current, []).append((start, cp - 1))
            current, start = cat, cp
    for name in _CATEGORIES:
        if len(name) == 1:
            members = [key for key in table if key.startswith(name) and key != "Cn"]
            table[name] = _normalise([r for key in members for r in table[key]])
    return table


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sort and merge overlapping or adjacent ranges."""
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _normalise(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return out


# ---------------------------------------------------------------------------------------------
# The tree


class _Node:
    __slots__ = ()


class _Literal(_Node):
    __slots__ = ("char", "fold")

    def __init__(self, char: str, fold: bool) -> None:
        self.char, self.fold = char, fold


class _Class(_Node):
    __slots__ = ("fold", "negated", "ranges")

    def __init__(self, ranges: Ranges, negated: bool, fold: bool) -> None:
        self.ranges, self.negated, self.fold = _normalise(ranges), negated, fold


class _Dot(_Node):
    __slots__ = ("dotnl",)

    def __init__(self, dotnl: bool) -> None:
        self.dotnl = dotnl


class _Assert(_Node):
    __slots__ = ("python",)

    def __init__(self, python: str) -> None:
        self.python = python


class _Group(_Node):
    __slots__ = ("capture", "depth", "sub")

    def __init__(self, sub: list[list[_Node]], capture: bool) -> None:
        self.sub, self.capture = sub, capture
        self.depth = 1 + max((_depth(item) for alt in sub for item in alt), default=0)


class _Repeat(_Node):
    __slots__ = ("depth", "greedy", "max", "min", "sub")

    def __init__(self, sub: _Node, lo: int, hi: int, greedy: bool) -> None:
        self.sub, self.min, self.max, self.greedy = sub, lo, hi, greedy
        self.depth = 1 + _depth(sub)


def _depth(node: _Node) -> int:
    return node.depth if isinstance(node, _Group | _Repeat) else 0


_WORD = "[0-9A-Za-z_]"
# Go's \b and \B look at ASCII word characters only; Python's follow Unicode.
_ASSERT_PYTHON = {
    "begin_text": r"\A",
    "end_text": r"\Z",
    "begin_line": "(?m:^)",
    "end_line": "(?m:$)",
    "word_boundary": f"(?:(?<!{_WORD})(?={_WORD})|(?<={_WORD})(?!{_WORD}))",
    "no_word_boundary": f"(?:(?<!{_WORD})(?!{_WORD})|(?<={_WORD})(?={_WORD}))",
}


class _Frame:
    """An open group: the alternatives read so far and the flags to restore at its `)`."""

    __slots__ = ("alternatives", "capture", "concat", "flags", "start")

    def __init__(self, flags: int, capture: bool, start: int) -> None:
        self.alternatives: list[list[_Node]] = []
        self.concat: list[_Node] = []
        self.flags = flags
        self.capture = capture
        self.start = start


def _is_word(c: str) -> bool:
    return c == "_" or ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _unhex(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


class _Parser:
    """Go's `regexp/syntax.Parse` with the Perl flags, as a tree builder. Raises RegexError."""

    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.flags = 0
        self.names: dict[str, int] = {}
        self.ncap = 0

    def parse(self) -> list[list[_Node]]:
        s = self.s
        bad = _SURROGATE.search(s)
        if bad is not None:
            # Only byte escapes in Go string literals produce these: the pattern is not UTF-8.
            raise RegexError(_INVALID_UTF8, s[bad.start() :])
        root = _Frame(0, False, 0)
        stack = [root]
        frame = root
        i, n = 0, len(s)
        last_repeat = ""
        while i < n:
            c = s[i]
            repeat = ""
            if c == "(":
                if s.startswith("(?", i):
                    i, opened = self._perl_flags(i)
                    if opened is not None:
                        stack.append(opened)
                        frame = opened
                        self._check_depth(stack)
                else:
                    self.ncap += 1
                    frame = _Frame(self.flags, True, i)
                    stack.append(frame)
                    self._check_depth(stack)
                    i += 1
            elif c == "|":
                frame.alternatives.append(frame.concat)
                frame.concat = []
                i += 1
            elif c == ")":
                if len(stack) == 1:
                    raise RegexError(_UNEXPECTED_PAREN, s)
                stack.pop()
                frame.alternatives.append(frame.concat)
                group = _Group(frame.alternatives, frame.capture)
                if group.depth > MAX_NESTING:
                    raise self._too_deep()
                self.flags = frame.flags
                frame = stack[-1]
                frame.concat.append(group)
                i += 1
            elif c == "^":
                kind = "begin_line" if self.flags & _MULTILINE else "begin_text"
                frame.concat.append(_Assert(_ASSERT_PYTHON[kind]))
                i += 1
            elif c == "$":
                kind = "end_line" if self.flags & _MULTILINE else "end_text"
                frame.concat.append(_Assert(_ASSERT_PYTHON[kind]))
                i += 1
            elif c == ".":
                frame.concat.append(_Dot(bool(self.flags & _DOTNL)))
                i += 1
            elif c == "[":
                i = self._class(i, frame)
            elif c in "*+?":
                lo, hi = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
                j = self._repeat(frame, i, i + 1, lo, hi, last_repeat)
                repeat = s[i:j]
                i = j
            elif c == "{":
                parsed = self._parse_repeat(i)
                if parsed is None:
                    frame.concat.append(_Literal("{", bool(self.flags & _FOLD)))
                    i += 1
                else:
                    lo, hi, after = parsed
                    if lo < 0 or lo > _MAX_REPEAT or hi > _MAX_REPEAT or (0 <= hi < lo):
                        raise RegexError(_INVALID_REPEAT_SIZE, s[i:after])
                    j = self._repeat(frame, i, after, lo, hi, last_repeat)
                    repeat = s[i:j]
                    i = j
            elif c == "\\":
                i = self._escape_atom(i, frame)
            else:
                frame.concat.append(_Literal(c, bool(self.flags & _FOLD)))
                i += 1
            last_repeat = repeat
        if len(stack) > 1:
            raise RegexError(_MISSING_PAREN, s)
        root.alternatives.append(root.concat)
        return root.alternatives

    def _check_depth(self, stack: list[_Frame]) -> None:
        if len(stack) > MAX_NESTING:
            raise self._too_deep()

    def _too_deep(self) -> UnsupportedRegex:
        return UnsupportedRegex(
            f"the pattern nests groups and repetitions more than {MAX_NESTING} levels deep, "
            "more than this implementation evaluates",
            self.s,
        )

    # -- groups and flags -----------------------------------------------------------------

    def _perl_flags(self, i: int) -> tuple[int, _Frame | None]:
        """Read `(?...` at i: a named group, a flag change, or a flagged non-capturing group."""
        s = self.s
        t = s[i:]
        if (len(t) > 4 and t[2] == "P" and t[3] == "<") or (len(t) > 3 and t[2] == "<"):
            begin = 3 if t[2] == "<" else 4
            end = t.find(">")
            if end < 0:
                raise RegexError(_INVALID_NAMED_CAPTURE, t)
            name = t[begin:end]
            if not name or not all(_is_word(ch) for ch in name):
                raise RegexError(_INVALID_NAMED_CAPTURE, t[: end + 1])
            if name in self.names:
                raise RegexError("duplicate capture group name", name)
            self.ncap += 1
            self.names[name] = self.ncap
            return i + end + 1, _Frame(self.flags, True, i)
        flags = self.flags
        sign = 1
        saw_flag = False
        j = i + 2
        while j < len(s):
            c = s[j]
            j += 1
            bit = {"i": _FOLD, "s": _DOTNL, "U": _NONGREEDY, "m": _MULTILINE}.get(c)
            if bit is not None:
                flags = flags | bit if sign > 0 else flags & ~bit
                saw_flag = True
            elif c == "-":
                if sign < 0:
                    break
                sign = -1
                saw_flag = False
            elif c in ":)":
                if sign < 0 and not saw_flag:
                    break
                opened = _Frame(self.flags, False, i) if c == ":" else None
                self.flags = flags
                return j, opened
            else:
                break
        raise RegexError(_INVALID_PERL_OP, s[i:j])

    # -- repetition -----------------------------------------------------------------------

    def _parse_int(self, j: int) -> tuple[int, int] | None:
        s = self.s
        if j >= len(s) or not ("0" <= s[j] <= "9"):
            return None
        if s[j] == "0" and j + 1 < len(s) and "0" <= s[j + 1] <= "9":
            return None  # Go refuses leading zeros, so `{01}` is literal text
        k = j
        while k < len(s) and "0" <= s[k] <= "9":
            k += 1
        digits = s[j:k]
        value = int(digits) if len(digits) <= 8 else -1
        return value, k

    def _parse_repeat(self, i: int) -> tuple[int, int, int] | None:
        """`{n}`, `{n,}` or `{n,m}` at i as (min, max, end), max -1 for none; None if literal."""
        s = self.s
        first = self._parse_int(i + 1)
        if first is None:
            return None
        lo, j = first
        if j >= len(s):
            return None
        if s[j] != ",":
            hi = lo
        else:
            j += 1
            if j >= len(s):
                return None
            if s[j] == "}":
                hi = -1
            else:
                second = self._parse_int(j)
                if second is None:
                    return None
                hi, j = second
                if hi < 0:
                    lo = -1
        if j >= len(s) or s[j] != "}":
            return None
        return lo, hi, j + 1

    def _repeat(self, frame: _Frame, i: int, after: int, lo: int, hi: int, last: str) -> int:
        s = self.s
        greedy = True
        if after < len(s) and s[after] == "?":
            after += 1
            greedy = False
        if last:
            raise RegexError(_INVALID_REPEAT_OP, s[i - len(last) : after])
        if not frame.concat:
            raise RegexError(_MISSING_REPEAT_ARGUMENT, s[i:after])
        if self.flags & _NONGREEDY:
            greedy = not greedy
        node = _Repeat(frame.concat[-1], lo, hi, greedy)
        if node.depth > MAX_NESTING:
            raise self._too_deep()
        if s[i] == "{" and (lo >= 2 or hi >= 2) and not _repeat_is_valid(node, _MAX_REPEAT):
            raise RegexError(_INVALID_REPEAT_SIZE, s[i:after])
        frame.concat[-1] = node
        return after

    # -- escapes ----------------------------------------------------------------------------

    def _escape_atom(self, i: int, frame: _Frame) -> int:
        s = self.s
        fold = bool(self.flags & _FOLD)
        if i + 1 < len(s):
            c = s[i + 1]
            simple = {"A": "begin_text", "z": "end_text", "b": "word_boundary"}
            simple["B"] = "no_word_boundary"
            if c in simple:
                frame.concat.append(_Assert(_ASSERT_PYTHON[simple[c]]))
                return i + 2
            if c == "C":
                raise RegexError(_INVALID_ESCAPE, s[i : i + 2])
            if c == "Q":
                end = s.find("\\E", i + 2)
                literal = s[i + 2 :] if end < 0 else s[i + 2 : end]
                frame.concat.extend(_Literal(ch, fold) for ch in literal)
                return len(s) if end < 0 else end + 2
            if c in "pP":
                ranges, negated, j = self._unicode_class(i)
                frame.concat.append(_Class(ranges, negated, fold))
                return j
            if c in _PERL_CLASSES:
                negated, ranges = _PERL_CLASSES[c]
                frame.concat.append(_Class(ranges, negated, fold))
                return i + 2
        char, j = self._escape(i)
        frame.concat.append(_Literal(char, fold))
        return j

    def _escape(self, i: int) -> tuple[str, int]:
        """A single-character escape at i (Go's parseEscape): (character, end)."""
        s = self.s
        j = i + 1
        if j >= len(s):
            raise RegexError(_TRAILING_BACKSLASH, "")
        c = s[j]
        j += 1
        if c < "\x80" and not (c.isascii() and c.isalnum()):
            return c, j  # escaped punctuation is itself
        if "1" <= c <= "7" and not (j < len(s) and "0" <= s[j] <= "7"):
            raise RegexError(_INVALID_ESCAPE, s[i:j])  # \1 alone is a backreference
        if "0" <= c <= "7":
            value = ord(c) - 48
            for _ in range(2):
                if j < len(s) and "0" <= s[j] <= "7":
                    value = value * 8 + ord(s[j]) - 48
                    j += 1
                else:
                    break
            return chr(value), j
        if c == "x":
            if j >= len(s):
                raise RegexError(_INVALID_ESCAPE, s[i:j])
            if s[j] == "{":
                k = j + 1
                value = 0
                digits = 0
                while k < len(s) and s[k] != "}":
                    v = _unhex(s[k])
                    if v < 0:
                        raise RegexError(_INVALID_ESCAPE, s[i : k + 1])
                    value = value * 16 + v
                    digits += 1
                    if value > _MAX_RUNE:
                        raise RegexError(_INVALID_ESCAPE, s[i : k + 1])
                    k += 1
                if k >= len(s) or digits == 0:
                    raise RegexError(_INVALID_ESCAPE, s[i : k + 1])
                return chr(value), k + 1
            if j + 1 >= len(s):
                raise RegexError(_INVALID_ESCAPE, s[i:])
            x, y = _unhex(s[j]), _unhex(s[j + 1])
            if x < 0 or y < 0:
                raise RegexError(_INVALID_ESCAPE, s[i : j + 2])
            return chr(x * 16 + y), j + 2
        simple = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
        if c in simple:
            return simple[c], j
        raise RegexError(_INVALID_ESCAPE, s[i:j])

    def _unicode_class(self, i: int) -> tuple[Ranges, bool, int]:
        """`\\pL`, `\\p{Name}`, `\\p{^Name}` or `\\P...` at i: (ranges, negated, end)."""
        s = self.s
        negated = s[i + 1] == "P"
        j = i + 2
        if j >= len(s):
            raise RegexError(_INVALID_CHAR_RANGE, s[i:])
        if s[j] != "{":
            name, end = s[j], j + 1
        else:
            close = s.find("}", i)
            if close < 0:
                raise RegexError(_INVALID_CHAR_RANGE, s[i:])
            name, end = s[j + 1 : close], close + 1
        seq = s[i:end]
        if name.startswith("^"):
            negated = not negated
            name = name[1:]
        if name == "Any":
            return [(0, _MAX_RUNE)], negated, end
        if name in _CATEGORIES:
            return list(_category_table().get(name, [])), negated, end
        if name in _SCRIPTS:
            raise UnsupportedRegex(
                "Unicode script classes are not supported by this implementation "
                "(Python has no script data); use explicit ranges",
                seq,
            )
        raise RegexError(_INVALID_CHAR_RANGE, seq)

    # -- bracketed classes ----------------------------------------------------------------

    def _class(self, i: int, frame: _Frame) -> int:
        s = self.s
        whole = s[i:]
        j = i + 1
        negated = False
        if j < len(s) and s[j] == "^":
            negated = True
            j += 1
        ranges: Ranges = []
        first = True
        while j >= len(s) or s[j] != "]" or first:
            first = False
            if s.startswith("[:", j) and len(s) - j > 2:
                close = s.find(":]", j + 2)
                if close >= 0:
                    name = s[j + 2 : close]
                    positive = name[1:] if name.startswith("^") else name
                    table = _POSIX_CLASSES.get(positive)
                    if table is None:
                        raise RegexError(_INVALID_CHAR_RANGE, s[j : close + 2])
                    ranges.extend(_negate(table) if name.startswith("^") else table)
                    j = close + 2
                    continue
            if s.startswith("\\", j) and j + 1 < len(s):
                nxt = s[j + 1]
                if nxt in "pP":
                    found, neg, j = self._unicode_class(j)
                    ranges.extend(_negate(found) if neg else found)
                    continue
                if nxt in _PERL_CLASSES:
                    neg, found = _PERL_CLASSES[nxt]
                    ranges.extend(_negate(found) if neg else found)
                    j += 2
                    continue
            start = j
            lo, j = self._class_char(j, whole)
            hi = lo
            if j + 1 < len(s) and s[j] == "-" and s[j + 1] != "]":
                hi, j = self._class_char(j + 1, whole)
                if hi < lo:
                    raise RegexError(_INVALID_CHAR_RANGE, s[start:j])
            ranges.append((lo, hi))
        frame.concat.append(_Class(ranges, negated, bool(self.flags & _FOLD)))
        return j + 1

    def _class_char(self, j: int, whole: str) -> tuple[int, int]:
        s = self.s
        if j >= len(s):
            raise RegexError(_MISSING_BRACKET, whole)
        if s[j] == "\\":
            char, k = self._escape(j)
            return ord(char), k
        return ord(s[j]), j + 1


def _repeat_is_valid(node: _Node, n: int) -> bool:
    """Go's repeatIsValid: nested `{n,m}` counts may not multiply past 1000."""
    if isinstance(node, _Repeat):
        m = node.max
        if m == 0:
            return True
        if m < 0:
            m = node.min
        if m > n:
            return False
        if m > 0:
            n //= m
        return _repeat_is_valid(node.sub, n)
    if isinstance(node, _Group):
        return all(_repeat_is_valid(item, n) for alt in node.sub for item in alt)
    return True


# ---------------------------------------------------------------------------------------------
# Emitting Python syntax


def _char_escape(cp: int) -> str:
    if cp < 0x80 and chr(cp).isalnum():
        return chr(cp)
    return f"\\x{cp:02x}" if cp < 0x100 else (f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}")


def _emit_class(node: _Class) -> str:
    if not node.ranges:
        body = r"[\s\S]" if node.negated else "(?!)"
    else:
        parts = [
            _char_escape(lo) if lo == hi else f"{_char_escape(lo)}-{_char_escape(hi)}"
            for lo, hi in node.ranges
        ]
        body = "[" + ("^" if node.negated else "") + "".join(parts) + "]"
    return f"(?i:{body})" if node.fold else body


def _emit_alternatives(alternatives: list[list[_Node]], capture: bool) -> str:
    return "|".join(_emit_concat(alt, capture) for alt in alternatives)


def _emit_concat(items: list[_Node], capture: bool) -> str:
    out: list[str] = []
    run: list[str] = []
    run_fold = False
    for item in items:
        if isinstance(item, _Literal):
            if run and item.fold != run_fold:
                out.append(_literal_run(run, run_fold))
                run = []
            run.append(item.char)
            run_fold = item.fold
            continue
        if run:
            out.append(_literal_run(run, run_fold))
            run = []
        out.append(_emit(item, capture))
    if run:
        out.append(_literal_run(run, run_fold))
    return "".join(out)


def _literal_run(chars: list[str], fold: bool) -> str:
    text = re.escape("".join(chars))
    return f"(?i:{text})" if fold else text


def _emit(node: _Node, capture: bool) -> str:
    if isinstance(node, _Literal):
        return _literal_run([node.char], node.fold)
    if isinstance(node, _Class):
        return _emit_class(node)
    if isinstance(node, _Dot):
        return "(?s:.)" if node.dotnl else "."
    if isinstance(node, _Assert):
        return node.python
    if isinstance(node, _Group):
        opener = "(" if capture and node.capture else "(?:"
        return opener + _emit_alternatives(node.sub, capture) + ")"
    assert isinstance(node, _Repeat)
    sub = _emit(node.sub, capture)
    if not isinstance(node.sub, _Group):
        sub = f"(?:{sub})"  # Python refuses to repeat assertions and repeats of repeats
    if (node.min, node.max) == (0, -1):
        quantifier = "*"
    elif (node.min, node.max) == (1, -1):
        quantifier = "+"
    elif (node.min, node.max) == (0, 1):
        quantifier = "?"
    elif node.max == -1:
        quantifier = f"{{{node.min},}}"
    elif node.min == node.max:
        quantifier = f"{{{node.min}}}"
    else:
        quantifier = f"{{{node.min},{node.max}}}"
    return sub + quantifier + ("" if node.greedy else "?")


def translate(pattern: str, *, capture: bool = False) -> tuple[str, dict[str, int]]:
    """Translate a Go RE2 pattern to Python syntax with the same match semantics.

    Returns the Python pattern and the named groups' numbers. Without `capture`, every group is
    emitted non-capturing (matching only needs a yes or no). Raises RegexError when Go would
    refuse the pattern and UnsupportedRegex for valid patterns this implementation cannot run.
    """
    parser = _Parser(pattern)
    tree = parser.parse()
    return "(?:" + _emit_alternatives(tree, capture) + ")", dict(parser.names)


def compile_go(pattern: str, *, capture: bool = False) -> re.Pattern[str]:
    """Compile a Go RE2 pattern for Python. Use `.search()` to get Go's `MatchString`."""
    python, _ = translate(pattern, capture=capture)
    try:
        return re.compile(python)
    except (re.error, RecursionError, OverflowError, MemoryError) as exc:
        # The translation is valid Python by construction; only resource limits end up here.
        raise UnsupportedRegex(
            f"Python's re module cannot compile this pattern ({exc})", pattern
        ) from exc
