"""The catalog file's error messages: what went wrong, said so a person can fix the line."""

from __future__ import annotations

import difflib

import yaml

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (
    _TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
MERGE = _TAG + "merge"


def did_you_mean(name: str, allowed: tuple[str, ...], *, listing: bool = True) -> str:
    """A "did you mean" for a mistyped name, else (with listing) the names accepted here."""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (allowed here: {', '.join(allowed)})" if listing else ""


def syntax_error(exc: yaml.MarkedYAMLError) -> str:
    """'line: reason' for a YAML syntax error, at the line a person has to fix."""
    problem, context = exc.problem or "not valid YAML", exc.context or ""
    problem_line = exc.problem_mark.line + 1 if exc.problem_mark else 1
    context_line = exc.context_mark.line + 1 if exc.context_mark else problem_line
    # An unclosed bracket or quote is noticed only lines later; the mistake is where it opened.
    if context.startswith(("while parsing a flow", "while scanning a quoted")):
        return (
            f"{context_line}: YAML syntax error {context}: it is not closed "
            f"({problem} on line {problem_line})"
        )
    if problem.startswith("expected <block end>"):
        problem = "this line's indentation does not fit the lines above it"
    where = f" ({context} from line {context_line})" if context else ""
    return f"{problem_line}: YAML syntax error: {problem}{where}"


_READS_AS = {INT: "a number", FLOAT: "a number", BOOL: "yes/no", NULL: "empty", TIMESTAMP: "a date"}


def quote_hint(node: yaml.Node) -> str:
    """Explain why an unquoted value YAML read as a number, boolean or null is not text."""
    if isinstance(node, yaml.ScalarNode) and node.tag in _READS_AS:
        return f", but {node.value!r} reads as {_READS_AS[node.tag]}: put it in quotes"
    if isinstance(node, yaml.SequenceNode):
        return ", not a list"
    if isinstance(node, yaml.MappingNode):
        return ", not a mapping"
    return ""


def not_text_hint(node: yaml.Node) -> str:
    """Explain why a quoted or fractional value is not a whole number."""
    if isinstance(node, yaml.ScalarNode) and node.tag == STR:
        return f", without quotes (got text {node.value!r})"
    if isinstance(node, yaml.ScalarNode) and node.tag == FLOAT:
        return f", not {node.value}"
    return quote_hint(node).replace(": put it in quotes", "")
