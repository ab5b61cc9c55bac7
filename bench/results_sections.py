"""Each benchmark keeps its own section of bench/RESULTS.md between begin/end markers."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def markers(name: str) -> tuple[str, str]:
    """The begin and end markers of a benchmark's section (name: e.g. "bench/sweep.py")."""
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def write_section(name: str, section: str, path: Path = RESULTS) -> None:
    """Replace a benchmark's section of RESULTS.md (or append it); `section` has its markers."""
    begin, end = markers(name)
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
