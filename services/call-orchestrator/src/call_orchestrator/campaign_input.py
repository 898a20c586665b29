"""A campaign's rows as uploaded (CSV) or posted (JSON): each accepted or rejected with its line
and reason, the count stopped as soon as it passes the row limit (a 1,000,000-line file is refused
after reading just past the limit, never held whole)."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from call_orchestrator.campaign_rules import is_known_zone, zones_for_number
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.web_input import text_problem

MAX_REJECTED_LISTED = 1000
MAX_METADATA_BYTES = 4096
MAX_METADATA_COLUMNS = 50
TO_NUMBER = "to_number"
TIME_ZONE = "time_zone"
METADATA = "metadata"


class TooManyRows(Exception):
    """More rows than a campaign may hold."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"A campaign holds at most {limit} rows; split the list into campaigns")
        self.limit = limit


class BadFile(Exception):
    """The upload is not a CSV this route reads (encoding, header)."""


@dataclass(frozen=True)
class RowInput:
    """One row as given, before its checks."""

    line: int
    to_number: str
    time_zone: str | None
    metadata: Any


@dataclass(frozen=True)
class AcceptedRow:
    """A row that passed every check."""

    line: int
    to_number: str
    time_zone: str | None
    zones: tuple[str, ...]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class RejectedRow:
    """A row left out, and why."""

    line: int
    to_number: str
    reason: str


@dataclass
class RowCheck:
    """The rows checked so far: accepted in order, rejected ones listed up to a cap."""

    accepted: list[AcceptedRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_count: int = 0
    derive_zones: bool = True
    """Whether a row without a time zone gets its number's zones (only windows need them)."""
    _lines_by_number: dict[str, int] = field(default_factory=dict)

    def reject(self, line: int, to_number: str, reason: str) -> None:
        """Leave a row out."""
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            shown = to_number[:64].encode("utf-8", "backslashreplace").decode()
            self.rejected.append(RejectedRow(line, shown, reason))

    def add(self, row: RowInput) -> None:
        """Check one row: number, duplicate, time zone, metadata."""
        try:
            number = normalize_e164(row.to_number)
        except InvalidPhoneNumber as exc:
            self.reject(row.line, row.to_number, f"invalid number: {exc}")
            return
        if (first := self._lines_by_number.get(number)) is not None:
            self.reject(row.line, row.to_number, f"duplicate of line {first}")
            return
        time_zone = (row.time_zone or "").strip() or None
        if time_zone is not None and not is_known_zone(time_zone):
            shown = time_zone[:64].encode("utf-8", "backslashreplace").decode()
            self.reject(row.line, row.to_number, f"unknown time zone {shown!r}")
            return
        if not isinstance(row.metadata, dict):
            self.reject(row.line, row.to_number, "metadata is not a JSON object")
            return
        text = json.dumps(row.metadata, ensure_ascii=False)
        if "\x00" in text or "\\u0000" in text or not _encodable(text):
            self.reject(row.line, row.to_number, "metadata holds a NUL or unpaired surrogate")
            return
        if len(text.encode()) > MAX_METADATA_BYTES:
            self.reject(
                row.line, row.to_number, f"metadata is larger than {MAX_METADATA_BYTES} bytes"
            )
            return
        self._lines_by_number[number] = row.line
        if time_zone:
            zones: tuple[str, ...] = (time_zone,)
        else:
            zones = zones_for_number(number) if self.derive_zones else ()
        self.accepted.append(AcceptedRow(row.line, number, time_zone, zones, row.metadata))

    def drop_blocked(self, blocked: set[str]) -> None:
        """Leave out the accepted rows whose number is on the do-not-call list."""
        if not blocked:
            return
        kept = []
        for row in self.accepted:
            if row.to_number in blocked:
                self.reject(row.line, row.to_number, "on the do-not-call list")
            else:
                kept.append(row)
        self.accepted = kept
        self.rejected.sort(key=lambda r: r.line)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_rows(rows: Iterable[RowInput], max_rows: int, *, derive_zones: bool = True) -> RowCheck:
    """Every row checked; TooManyRows as soon as there are more than `max_rows`. Deriving each
    number's time zones is most of a row's cost (phonenumbers), so a campaign without windows
    skips it (`derive_zones`)."""
    check = RowCheck(derive_zones=derive_zones)
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise TooManyRows(max_rows)
        check.add(row)
    return check


def json_rows(rows: Iterable[Any]) -> Iterator[RowInput]:
    """The rows of a JSON body (1-based index as the line)."""
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            yield RowInput(index, "", None, None)
            continue
        number = row.get(TO_NUMBER)
        zone = row.get(TIME_ZONE)
        yield RowInput(
            index,
            number if isinstance(number, str) else "",
            zone if isinstance(zone, str) else None,
            row.get(METADATA, {}) if row.get(METADATA) is not None else {},
        )


def ensure_row_limit(file: IO[bytes], max_rows: int) -> None:
    """TooManyRows when the CSV has more than `max_rows` rows after its header, counted without
    checking any (100,000 rows in well under a second, where checking them takes seconds), and
    stopping just past the limit; the file is read again from its start afterwards."""
    try:
        reader = csv.reader(codecs.getreader("utf-8-sig")(file, "strict"))
        rows = -1  # the header
        for values in reader:
            if values and any(v.strip() for v in values):
                rows += 1
                if rows > max_rows:
                    raise TooManyRows(max_rows)
    except (UnicodeDecodeError, csv.Error):
        pass  # csv_header says what is wrong with the file
    finally:
        file.seek(0)


def csv_header(file: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The CSV's header and an iterator of (line, values) for the lines after it, read as the
    iterator advances (UTF-8, a BOM allowed). BadFile when there is no `to_number` column."""
    text = codecs.getreader("utf-8-sig")(file, "strict")
    reader = csv.reader(text)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration as exc:
        raise BadFile("The file is empty: a header row naming to_number is required") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadFile(f"The file is not a UTF-8 CSV: {exc}") from exc
    if any(text_problem(name) for name in header):
        raise BadFile("The CSV header holds a NUL character or an unpaired surrogate")
    if TO_NUMBER not in header:
        raise BadFile("The CSV header has no to_number column")
    if len(header) - 1 > MAX_METADATA_COLUMNS + 2:
        raise BadFile(f"The CSV has more than {MAX_METADATA_COLUMNS} metadata columns")

    def lines() -> Iterator[tuple[int, list[str]]]:
        try:
            for values in reader:
                if values and any(v.strip() for v in values):
                    yield reader.line_num, values
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadFile(f"The file is not a UTF-8 CSV (line {reader.line_num}): {exc}") from exc

    return header, lines()


def csv_rows(header: list[str], lines: Iterator[tuple[int, list[str]]]) -> Iterator[RowInput]:
    """The CSV's rows: `to_number`, optional `time_zone`, optional `metadata` (a JSON object);
    every other column goes into the metadata as a string."""
    extra = [name for name in header if name not in (TO_NUMBER, TIME_ZONE, METADATA)]
    for line, values in lines:
        cells = dict(zip(header, values, strict=False))
        metadata: Any = {}
        raw = cells.get(METADATA, "").strip()
        if raw:
            try:
                metadata = json.loads(raw)
            except ValueError:
                metadata = None
        if isinstance(metadata, dict):
            for name in extra:
                if name and name in cells:
                    metadata.setdefault(name, cells[name])
        yield RowInput(line, cells.get(TO_NUMBER, ""), cells.get(TIME_ZONE), metadata)


def metadata_columns(header: list[str] | None, rows: Iterable[AcceptedRow]) -> tuple[str, ...]:
    """The metadata columns of results.csv: the CSV's extra columns, else the keys of the rows'
    metadata in first-seen order (at most MAX_METADATA_COLUMNS)."""
    if header is not None:
        extra = [n for n in header if n and n not in (TO_NUMBER, TIME_ZONE, METADATA)]
        return tuple(extra[:MAX_METADATA_COLUMNS])
    seen: dict[str, None] = {}
    for row in rows:
        for key in row.metadata:
            if len(seen) >= MAX_METADATA_COLUMNS:
                return tuple(seen)
            seen.setdefault(key, None)
    return tuple(seen)
