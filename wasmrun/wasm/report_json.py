"""``inspect --json``'s layout, and the column store that keeps its two long lists cheap.

A module with 20,000 imports and 20,000 exports has 40,000 entries in its report. Made as dicts
and encoded one at a time they cost more than reading the module; kept as columns
(:class:`EntryTable`) they are written with one template per list, every step of it in C
(``map`` over the columns), and made into dicts only for a caller that asks (:func:`plain`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any, overload


class EntryTable(Sequence[dict[str, Any]]):
    """A list of dicts with the same ``keys``, held as one column per key: entry ``i`` is
    ``dict(zip(keys, (column[i] for column in columns)))``, made only when it is read."""

    __slots__ = ("columns", "keys")

    def __init__(self, keys: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        if len(keys) != len(columns) or len({len(column) for column in columns}) > 1:
            raise ValueError("an EntryTable needs one column per key, all of the same length")
        self.keys = tuple(keys)
        self.columns = tuple(columns)

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return dict(zip(self.keys, [column[index] for column in self.columns], strict=True))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keys = self.keys
        return (dict(zip(keys, row, strict=True)) for row in zip(*self.columns, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a list's equality, so no hash (as a list)

    def __repr__(self) -> str:
        return f"EntryTable({list(self)!r})"

    def json_entries(self, encode: Callable[[Any], str]) -> Iterator[str]:
        """Each entry as compact JSON, exactly as ``encode(entry)`` writes it: the keys (and a column
        holding one string throughout) go into one template, each other column is encoded in one
        pass, and the template is filled row by row in C."""
        slots: list[str] = []
        variable: list[Iterable[str]] = []
        for key, column in zip(self.keys, self.columns, strict=True):
            encoded = _encoded_column(column, encode)
            if isinstance(encoded, str):
                slots.append(f"{encode(key)}: {encoded}".replace("%", "%%"))
            else:
                slots.append(encode(key).replace("%", "%%") + ": %s")
                variable.append(encoded)
        template = "{" + ", ".join(slots) + "}"
        if not variable:
            return repeat(template % (), len(self))
        return map(template.__mod__, zip(*variable, strict=True))


def _encoded_column(column: Sequence[Any], encode: Callable[[Any], str]) -> str | Iterable[str]:
    """Each value of ``column`` as JSON, as ``encode`` writes it: integers (not bools) by
    ``int.__repr__``, strings by the encoder's own string function, a repeated string once; a
    column of one string throughout as that string's JSON alone."""
    from json.encoder import encode_basestring_ascii as encode_string

    kinds = set(map(type, column))
    if kinds == {int}:
        return map(int.__repr__, column)
    if kinds == {str}:
        distinct = set(column)
        if len(distinct) == 1:
            return encode_string(column[0])
        if len(distinct) * 2 <= len(column):
            return map({value: encode_string(value) for value in distinct}.__getitem__, column)
        return map(encode_string, column)
    if kinds == {str, type(None)}:
        return ["null" if value is None else encode_string(value) for value in column]
    return map(encode, column)


def plain(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` with each :class:`EntryTable` among its values (and its values' values) made a
    list of dicts: what :func:`json.dumps` and ``==`` expect."""
    for key, value in report.items():
        if isinstance(value, EntryTable):
            report[key] = list(value)
        elif isinstance(value, dict):
            plain(value)
    return report


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON for ``inspect --json``: objects indented, each entry of a list on a line
    of its own. (``json.dumps(indent=...)`` falls back to the pure-Python encoder: 0.2 s for a
    module with 20,000 imports; this leaves each entry to the C one, and an :class:`EntryTable`
    to its template.)"""
    encode, encode_all = _entry_encoder()
    parts: list[str] = []  # joined once at the end: 4 MB of entries are copied once, not once a level
    write = parts.append

    def dump(value: Any, pad: str) -> None:
        inner = pad + "  "
        if isinstance(value, dict) and value:
            write("{\n")
            for number, (key, item) in enumerate(value.items()):
                if number:
                    write(",\n")
                write(f"{inner}{encode(str(key))}: ")
                dump(item, inner)
            write(f"\n{pad}}}")
        elif isinstance(value, (list, EntryTable)) and value:
            write(f"[\n{inner}")
            write(f",\n{inner}".join(value.json_entries(encode) if isinstance(value, EntryTable)
                                      else encode_all(value)))
            write(f"\n{pad}]")
        else:
            write("[]" if isinstance(value, EntryTable) else encode(value))

    dump(report, "")
    return "".join(parts)


def _entry_encoder() -> tuple[Callable[[Any], str], Callable[[list[Any]], Iterable[str]]]:
    """Compact JSON of one value, and of each value of a list, as ``json.JSONEncoder(default=str)``
    writes it, but with the C encoder made once rather than once per value (a third of the time
    for 40,000 entries)."""
    import json.encoder

    fallback = json.JSONEncoder(default=str).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython without its _json accelerator
        return fallback, lambda values: map(fallback, values)
    c_encode = make(None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    def encode_all(values: list[Any]) -> Iterable[str]:
        return map("".join, map(c_encode, values, repeat(0)))

    sample = {"a": [1, 2.5, None, True, "\u00e9"], "b": {"c": float("inf")}}
    if encode(sample) != fallback(sample):  # pragma: no cover - a C encoder that works otherwise
        return fallback, lambda values: map(fallback, values)
    return encode, encode_all
