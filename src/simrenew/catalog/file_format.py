"""Reading the catalog file's YAML node tree into typed values, naming the line of every mistake.

The file is composed (not loaded) so every value keeps its position. Values are read from the
nodes' raw text rather than PyYAML's constructors: YAML 1.1 would otherwise turn `0100` into the
octal 64, `10.000` into a float and `no` into False without a word.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NoReturn

import yaml

from simrenew.catalog.file_messages import (
    INT,
    MERGE,
    NULL,
    STR,
    TIMESTAMP,
    did_you_mean,
    not_text_hint,
    quote_hint,
    syntax_error,
)
from simrenew.clock import KUWAIT
from simrenew.errors import CatalogInvalid
from simrenew.money import (  # far above any package: a larger figure is a typo
    FILS_PER_KWD,
    MAX_FILS,
)

# Aliases can repeat a list many times over ("billion laughs"); a real catalog is far smaller.
MAX_NODES = 100_000
MAX_TEXT = 100

_WHOLE = re.compile(r"[+-]?(?:0|[1-9][0-9]*(?:_[0-9]+)*)")
_KWD = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)


class Source:
    """One catalog file being read: its name for messages and a budget against alias bombs."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._nodes = 0

    def fail(self, node: yaml.Node | None, reason: str) -> NoReturn:
        """Stop reading: the file is invalid at this node's line (line 1 without a node)."""
        line = node.start_mark.line + 1 if node is not None else 1
        raise CatalogInvalid(f"{self.filename}:{line}: {reason}")

    def compose(self, text: str) -> yaml.Node:
        """Parse the YAML text into its node tree, turning syntax errors into file:line errors."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            raise CatalogInvalid(f"{self.filename}:{syntax_error(exc)}") from None
        except yaml.YAMLError as exc:  # e.g. a character YAML does not allow, without a mark
            raise CatalogInvalid(f"{self.filename}:1: YAML error: {exc}") from None
        if root is None:
            self.fail(None, "the file is empty: it needs operators and payment_methods")
        return root

    def count(self, node: yaml.Node) -> None:
        """Charge a mapping's or list's entries against the node budget."""
        self._nodes += len(node.value)
        if self._nodes > MAX_NODES:
            self.fail(node, f"the catalog is too large (more than {MAX_NODES} entries)")

    def mapping(
        self, node: yaml.Node, label: str, allowed: tuple[str, ...], *, noun: str = "key"
    ) -> Fields:
        """Read a mapping whose keys must all be among `allowed` (noun names them in messages)."""
        return Fields(self, node, label, allowed, noun=noun)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The items of a YAML list."""
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list (items starting with '- ' or [a, b])")
        self.count(node)
        return list(node.value)

    def text(
        self, node: yaml.Node, what: str, *, pattern: re.Pattern[str] | None = None, hint: str = ""
    ) -> str:
        """A non-empty text scalar, optionally matching a pattern (hint says what is expected)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            self.fail(node, f"{what} must be text{quote_hint(node)}")
        value = str(node.value)
        if not value.strip():
            self.fail(node, f"{what} must not be empty")
        if any(char in value for char in "\r\n\t"):
            self.fail(node, f"{what} must be on one line, without tabs")
        if len(value) > MAX_TEXT:
            self.fail(node, f"{what} is too long (at most {MAX_TEXT} characters)")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(node, f"{what} {value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def digits(self, node: yaml.Node, what: str) -> str:
        """A run of digits, written quoted or not (its raw text keeps leading zeros)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, INT):
            self.fail(node, f"{what} must be digits{quote_hint(node)}")
        return str(node.value)

    def choice(
        self, node: yaml.Node, what: str, allowed: tuple[str, ...], noun: str, *, scope: str = ""
    ) -> str:
        """A text value that must be one of `allowed`."""
        name = self.text(node, what)
        if name not in allowed:
            self.fail(
                node,
                f"{what}: {name!r} is not a known {noun}{scope}"
                f"{did_you_mean(name, allowed, listing=False)}; "
                f"the {noun}s{scope} are {', '.join(allowed) or 'none'}",
            )
        return name

    def integer(self, node: yaml.Node, what: str, *, minimum: int, maximum: int) -> int:
        """A whole number between minimum and maximum, written without quotes."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT:
            self.fail(node, f"{what} must be a whole number{not_text_hint(node)}")
        raw = str(node.value)
        if not _WHOLE.fullmatch(raw):
            self.fail(node, f"{what} {raw!r} must be written in plain decimal digits")
        value = int(raw.replace("_", ""))
        if value < minimum:
            self.fail(node, f"{what} must be at least {minimum}, not {value}")
        if value > maximum:
            self.fail(node, f"{what} must be at most {maximum}, not {value}")
        return value

    def kwd(self, node: yaml.Node, what: str, *, minimum: int, other: str) -> int:
        """An amount of KWD written as quoted text with at most 3 decimals, in fils."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            self.fail(
                node,
                f'{what} is an amount of KWD and must be quoted text like "10.000" '
                f"(or give {other} as a whole number of fils)",
            )
        raw = str(node.value).strip()
        if raw.startswith("-"):
            self.fail(node, f"{what} must not be negative, not {raw}")
        match = _KWD.fullmatch(raw)
        if match is None:
            self.fail(node, f'{what} {raw!r} is not an amount of KWD like "12.500"')
        frac = match["frac"] or ""
        if len(frac) > 3:
            self.fail(node, f"{what} {raw!r} has more than 3 decimals (1 KWD = 1000 fils)")
        whole = match["whole"].lstrip("0") or "0"
        if len(whole) > len(str(MAX_FILS // FILS_PER_KWD)):
            self.fail(node, f"{what} {raw!r} is too large")
        fils = int(whole) * FILS_PER_KWD + int(frac.ljust(3, "0"))
        return self._fils_in_range(node, what, fils, minimum=minimum)

    def fils(self, node: yaml.Node, what: str, *, minimum: int, other: str) -> int:
        """An amount written as a whole number of fils."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT:
            self.fail(
                node,
                f"{what} must be a whole number of fils like 10000 "
                f'(or give {other} as quoted KWD like "10.000")',
            )
        fils = self.integer(node, what, minimum=-MAX_FILS, maximum=MAX_FILS)
        return self._fils_in_range(node, what, fils, minimum=minimum)

    def _fils_in_range(self, node: yaml.Node, what: str, fils: int, *, minimum: int) -> int:
        if fils < minimum:
            floor = "more than 0" if minimum == 1 else f"at least {minimum} fils"
            self.fail(node, f"{what} must be {floor}, not {fils} fils")
        if fils > MAX_FILS:
            self.fail(node, f"{what} is too large (at most {MAX_FILS // FILS_PER_KWD} KWD)")
        return fils

    def percent(self, node: yaml.Node, what: str, *, maximum: int) -> Decimal:
        """A percentage 0..maximum, as a whole number or quoted decimal text like "1.5"."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, INT):
            self.fail(node, f'{what} must be a percentage written as quoted text like "1.5"')
        raw = str(node.value).strip()
        if not _DECIMAL.fullmatch(raw):
            self.fail(node, f'{what} {raw!r} is not a percentage like "1.5" (no % sign)')
        value = Decimal(raw)
        if value > maximum:
            self.fail(node, f"{what} must be at most {maximum} percent, not {raw}")
        if "." in raw and len(raw.split(".")[1]) > 3:
            self.fail(node, f"{what} {raw!r} has more than 3 decimals")
        return value

    def moment(self, node: yaml.Node, what: str, *, end_of_day: bool) -> datetime:
        """An ISO 8601 date or date-time as aware UTC; dates and naive times are Kuwait time."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, TIMESTAMP):
            self.fail(node, f"{what} must be an ISO 8601 date like 2026-01-01")
        raw = str(node.value).strip()
        shape_ok = _DATE_ONLY.fullmatch(raw) or _DATE_TIME.fullmatch(raw)
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            shape_ok = None
        if not shape_ok:
            self.fail(
                node,
                f"{what} {raw!r} is not a valid ISO 8601 date (2026-01-01) "
                "or date-time (2026-01-01T09:00:00+03:00)",
            )
        if _DATE_ONLY.fullmatch(raw):
            # A date alone is a whole Kuwaiti day: a window starts at its first midnight and
            # ends (exclusive) at its last one, so "ends_at: 2027-12-31" includes that day.
            day = parsed.replace(tzinfo=KUWAIT)
            return (day + timedelta(days=1) if end_of_day else day).astimezone(UTC)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=KUWAIT)
        return parsed.astimezone(UTC)


class Seen:
    """Codes met so far in one scope: a second use is reported with the line of the first."""

    def __init__(self, source: Source, what: str) -> None:
        self.source, self.what = source, what
        self.lines: dict[str, int] = {}

    def add(self, code: str, node: yaml.Node) -> None:
        """Record a code, refusing one already met."""
        if code in self.lines:
            first = self.lines[code]
            self.source.fail(node, f"{self.what} {code!r} is used twice (first on line {first})")
        self.lines[code] = node.start_mark.line + 1


class Fields:
    """One YAML mapping being read: unknown keys are refused at once, so typos never pass."""

    def __init__(
        self, source: Source, node: yaml.Node, label: str, allowed: tuple[str, ...], *, noun: str
    ) -> None:
        if not isinstance(node, yaml.MappingNode):
            source.fail(node, f"{label} must be a mapping of keys (key: value)")
        source.count(node)
        self.source, self.node, self.label = source, node, label
        self._items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if key.tag == MERGE:
                source.fail(key, f"{label}: merge keys (<<) are not supported: write keys out")
            if not isinstance(key, yaml.ScalarNode) or key.tag != STR:
                source.fail(key, f"{label}: keys must be plain names like 'code'")
            name = str(key.value)
            if name not in allowed:
                source.fail(key, f"{label}: unknown {noun} {name!r}{did_you_mean(name, allowed)}")
            if name in self._items:
                source.fail(key, f"{label}: {noun} {name!r} is given twice")
            self._items[name] = (key, value)

    def get(self, key: str, *, nullable: bool = False) -> yaml.Node | None:
        """The value node of a key, or None when absent (or null, where null is allowed)."""
        found = self._items.get(key)
        if found is None:
            return None
        key_node, value = found
        if isinstance(value, yaml.ScalarNode) and value.tag == NULL:
            if nullable:
                return None
            # An empty value is usually an unfinished edit; for an optional list it would
            # silently mean "everything", so it is refused rather than taken as absent.
            self.source.fail(key_node, f"{self.what(key)} has no value: give one or remove the key")
        return value

    def need(self, key: str, hint: str = "") -> yaml.Node:
        """The value node of a required key; its absence is reported at the mapping's line."""
        node = self.get(key)
        if node is None:
            self.source.fail(
                self.node, f"{self.label}: {key} is required{' (' + hint + ')' if hint else ''}"
            )
        return node

    def present(self) -> list[str]:
        """The keys present, in file order."""
        return list(self._items)

    def what(self, key: str) -> str:
        """How messages name this key: the mapping's label and the key."""
        return f"{self.label}: {key}"

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        """A required text value, optionally matching a pattern (hint says what is expected)."""
        return self.source.text(self.need(key), self.what(key), pattern=pattern, hint=hint)

    def integer(self, key: str, *, minimum: int, maximum: int = 100_000) -> int:
        """A required whole number."""
        return self.source.integer(self.need(key), self.what(key), minimum=minimum, maximum=maximum)

    def optional_integer(self, key: str, *, minimum: int, maximum: int = 100_000) -> int | None:
        """An optional whole number (None when absent)."""
        node = self.get(key)
        if node is None:
            return None
        return self.source.integer(node, self.what(key), minimum=minimum, maximum=maximum)

    def money(self, key: str, *, minimum: int) -> int:
        """A required amount, given as `<key>` (quoted KWD) or `<key>_fils` (whole fils)."""
        amount = self.optional_money(key, minimum=minimum)
        if amount is None:
            self.source.fail(
                self.node,
                f"{self.label}: {key} is required "
                f'(as {key}: "10.000" in KWD or {key}_fils: 10000 in fils)',
            )
        return amount

    def optional_money(self, key: str, *, minimum: int) -> int | None:
        """An amount given as `<key>` (quoted KWD) or `<key>_fils` (whole fils), never both."""
        kwd, fils = self.get(key), self.get(f"{key}_fils")
        if kwd is not None and fils is not None:
            self.source.fail(fils, f"{self.label}: give either {key} or {key}_fils, not both")
        if kwd is not None:
            return self.source.kwd(kwd, self.what(key), minimum=minimum, other=f"{key}_fils")
        if fils is not None:
            what = self.what(f"{key}_fils")
            return self.source.fils(fils, what, minimum=minimum, other=key)
        return None

    def items(self, key: str, *, at_least_one: bool) -> list[yaml.Node]:
        """The items of a required list, optionally refusing an empty one."""
        node = self.need(key)
        items = self.source.sequence(node, self.what(key))
        if at_least_one and not items:
            self.source.fail(node, f"{self.what(key)} must list at least one item")
        return items

    def choices(
        self, key: str, allowed: tuple[str, ...], noun: str, *, scope: str = ""
    ) -> tuple[str, ...]:
        """A non-empty list of distinct names, each one of `allowed` (scope: where they live)."""
        what = self.what(key)
        seen = Seen(self.source, f"{what}: {noun}")
        for node in self.items(key, at_least_one=True):
            seen.add(self.source.choice(node, what, allowed, noun, scope=scope), node)
        return tuple(seen.lines)


def label_of(kind: str, node: yaml.Node, index: int, *, key: str = "code") -> str:
    """How messages name a list item: by its code when it has one, else by its position."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key and isinstance(v, yaml.ScalarNode) and v.value:
                return f"{kind} {str(v.value)!r}"
    return f"{kind} #{index + 1}"


def value_node(node: yaml.Node, *keys: str) -> yaml.Node:
    """The value node of the first of `keys` present in a mapping node (else the node itself)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value in keys:
                return value  # type: ignore[no-any-return]
    return node
