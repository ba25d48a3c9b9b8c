"""YAML metadata (a page's header, a report.yaml): read with a safe loader, its shape bounded."""

from __future__ import annotations

import re

import yaml

from .messages import REASONS
from .models import Problem
from .reading import shown

MAX_METADATA = 64 * 1024  # bytes of a report.yaml or a page's YAML header


MAX_LIST = 100  # items of a list value in metadata


MAX_DEPTH = 3  # mapping → list → scalar


MAX_NUMBER = 4300  # characters of an integer in metadata: Python prints none longer (sys.get_int_max_str_digits)


_HEADER_OPEN = re.compile(r"---\r?\n")


_HEADER_CLOSE = re.compile(r"\n---(?:\r?\n|\Z)")


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(YAML header or None, body, line number where the body starts); the body is kept verbatim.
    The `---` lines may end in CRLF (a file saved on Windows), the header's lines too."""
    opening = _HEADER_OPEN.match(text)
    if not opening:
        return None, text, 1
    closing = _HEADER_CLOSE.search(text, opening.end() - 1)
    if not closing:
        return None, text, 1
    header = text[opening.end() : closing.start() + 1]
    return header, text[closing.end() :], header.count("\n") + 3


def _unbounded(text: str) -> tuple[str, yaml.Mark] | None:
    """Why a YAML text may not be composed (and where), or None: aliases (`*name`: 351 bytes of
    nested aliases expand to gigabytes) or nesting deeper than metadata needs. Read as a stream of
    parser events (libyaml), so nothing is built before it is known to be bounded."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return "aliases (*name) are not allowed", event.start_mark
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth >= MAX_DEPTH:
                return "nested too deeply", event.start_mark
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _named(name: str) -> str:
    """A metadata name as a problem quotes it: shown (a name may hold line breaks and escape
    sequences, "\\n" in double quotes) and at most 40 characters."""
    return shown(name[:40]) + ("…" if len(name) > 40 else "")


def _metadata_shape(node: yaml.Node) -> tuple[str, yaml.Mark] | None:
    """What is wrong with a metadata document's shape (and where), or None: a mapping of names, each
    once, to text (any scalar), to short lists of text, or to a reason `kb import` recorded
    (`{reason: CODE, …values}`)."""
    if not isinstance(node, yaml.MappingNode):
        return "expected a mapping of `name: value` lines", node.start_mark
    names = set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            return "a name must be plain text", key.start_mark
        if key.value in names:  # YAML keeps the last silently: which one was meant cannot be known
            return f"`{_named(key.value)}` is written twice", key.start_mark
        names.add(key.value)
        if isinstance(value, yaml.MappingNode):
            parts = [part for pair in value.value for part in pair]
            recorded = any(name.value == "reason" and code.value in REASONS for name, code in value.value)
            if len(value.value) > MAX_LIST or not recorded or not all(isinstance(p, yaml.ScalarNode) for p in parts):
                return f"`{_named(key.value)}` must be text, or a reason as `kb import` records it", value.start_mark
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        if len(items) > MAX_LIST or not all(isinstance(item, yaml.ScalarNode) for item in items):
            return f"`{_named(key.value)}` must be text or a list of at most {MAX_LIST} texts", value.start_mark
    return None


def _unconstructible(node: yaml.Node) -> tuple[str, yaml.Mark] | None:
    """The first scalar of a (bounded) metadata document that is no value of its implicit type, or
    one no text can be made of, and why: `2025-13-45` (no such date), an integer of more than 4300
    digits (`0x…` and `1:2:…` too: Python refuses to print them)."""
    for key, value in node.value:  # the shape is known (`_metadata_shape`): names, then values
        if isinstance(value, yaml.MappingNode):
            values = [item for pair in value.value for item in pair]
        else:
            values = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for scalar in [key, *values]:
            if scalar.tag.endswith(":int") and len(scalar.value) > MAX_NUMBER:  # `1:2:…` costs quadratic time
                return f"a number longer than {MAX_NUMBER} characters", scalar.start_mark
            try:
                made = yaml.constructor.SafeConstructor().construct_object(scalar)
                str(made)
            except (ValueError, OverflowError) as error:
                return str(error), scalar.start_mark
            except Exception:  # noqa: BLE001 - PyYAML's constructors raise what their parsing hits (`!!bool maybe`: KeyError)
                return f"not a {scalar.tag.rpartition(':')[2]}: {scalar.value[:40]!r}", scalar.start_mark
            if isinstance(made, bytes):  # `!!binary`: no text
                return "binary data is not text", scalar.start_mark
    return None


def _last_values(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    """Each name's value node (each name is written once: `_metadata_shape`)."""
    return {str(yaml.constructor.SafeConstructor().construct_object(key)): value for key, value in node.value}


def as_written(value: object, node: yaml.Node) -> object:
    """A plain scalar whose YAML 1.1 value reads otherwise than it is written (`title: 12:30` is
    750, `yes` True, `0x1F` 31, `1_000` 1000) as its text; in a list, each item so. Any other
    value as YAML makes it (`2025-01-01` a date, `3` a number: each reads as written; `~` none)."""
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        return [as_written(item, child) for item, child in zip(value, node.value)]
    if isinstance(node, yaml.ScalarNode) and not node.style and value is not None and str(value) != node.value:
        return node.value
    return value


def read_metadata(text: str, where: str, first_line: int = 1) -> tuple[dict | None, Problem | None]:
    """A report.yaml or a page's YAML header (whose first line is `first_line` of its file), bounded:
    at most MAX_METADATA bytes, no aliases, values text or short lists of text."""
    if len(text.encode("utf-8")) > MAX_METADATA:
        return None, Problem(where, f"YAML metadata larger than {MAX_METADATA // 1024} KiB", first_line)
    loader = yaml.CSafeLoader(text)
    try:
        unbounded = _unbounded(text)
        if unbounded:
            return None, Problem(where, f"invalid YAML metadata: {unbounded[0]}", first_line + unbounded[1].line)
        node = loader.get_single_node()
        if node is None:
            return {}, None
        wrong = _metadata_shape(node) or _unconstructible(node)
        if wrong:
            return None, Problem(where, f"invalid YAML metadata: {wrong[0]}", first_line + wrong[1].line)
        # Names as text: `1:`, `null:`, `2025-01-01:` are keys too, and mixed types cannot be sorted
        made = {str(name): value for name, value in loader.construct_document(node).items()}
        return {name: as_written(made[name], value) for name, value in _last_values(node).items()}, None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        message = getattr(error, "problem", None) or str(error)
        return None, Problem(where, f"invalid YAML metadata: {message}", first_line + mark.line if mark else first_line)
    finally:
        loader.dispose()
