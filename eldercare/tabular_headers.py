"""Headers of uploaded tables (eldercare.tabular's ``Headers``): a column is found by the
names its header may give it, compared after ``header_key``, so that 所属乡镇（街道）,
乡镇/街道 and 乡镇街道 are one header for every upload — roster, comparison list, claim
file. Used as ``tabular.Headers``, ``tabular.header_key``, ``tabular.Columns``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from .tabular_cells import text, written

if TYPE_CHECKING:
    from .tabular import Row

# Spaces, brackets, slashes, underscores, dashes, required-markers and a stray byte-order
# mark: 所属乡镇（街道）, 乡镇/街道 and 乡镇街道 are one header; so are id_number and ID Number.
_HEADER_JUNK = re.compile("[\\s()\\[\\]{}【】/、·:*_\\-\ufeff\u200b]|必填|选填")


def header_key(value) -> str:
    """A header cell as compared with the names a column may have: half-width, lower
    case, without spaces, brackets, slashes, underscores, dashes or 必填/选填."""
    return _HEADER_JUNK.sub("", text(value)).lower()


Columns = dict[str, tuple[int, str]]  # field -> (position in the row, header as written)


class Headers:
    """The columns a table may have, by the names its header may give them."""

    def __init__(
        self,
        names: Mapping[str, Iterable[str]],
        required: Iterable[str],
        guess: Callable[[str], str | None] | None = None,
    ):
        self.fields = {header_key(name): f for f, all_names in names.items() for name in all_names}
        self.required = tuple(required)
        self.guess = guess  # key -> field, for a header named in words no list foresaw

    def known(self, values: list) -> Columns:
        """The known columns of a row; the first of two with one meaning counts."""
        columns: Columns = {}
        for i, value in enumerate(values):
            key = header_key(value)
            found = self.fields.get(key) or (self.guess(key) if self.guess else None)
            if found and found not in columns:
                columns[found] = (i, written(value))
        return columns

    def find(self, values: list) -> Columns | None:
        """The known columns of a row when it is the header (it names every required
        one), else None."""
        columns = self.known(values)
        return columns if all(f in columns for f in self.required) else None

    def width(self, rows: list[Row]) -> int | None:
        """A HeaderTest: the columns to keep when the last row is the header."""
        columns = self.find(rows[-1][1])
        return None if columns is None else max(i for i, _ in columns.values()) + 1
