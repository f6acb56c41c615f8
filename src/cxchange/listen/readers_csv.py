"""CSV/TSV reading in blocks: encoding and delimiter detection, record bounds with numpy (see readers.py)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.listen.readers import (  # package-internal helpers shared by the format readers
    _DELIMITERS,
    _ERRORS,
    _MAX_BLOCK,
    _MAX_RECORD,
    _SAMPLE_BYTES,
    _SNIFF_CHARS,
    _WS,
    SAMPLE_WHOLE_BELOW,
    SAMPLE_WINDOWS,
    Chunk,
    ColumnSample,
    RawReject,
    TableInfo,
    TableReader,
    _blank_mask,
    _byte_windows,
    _clean_header,
    _frame,
    _is_blank,
    _nullify_empty,
    _slices,
)

_Parsed = tuple[pl.DataFrame, np.ndarray, list[RawReject], int]  # good rows, their numbers, rejects, records


class _Utf8Transcoder:
    """Minimal binary stream re-encoding a non-UTF-8 file as UTF-8, so blocks can go to polars."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self._text = io.TextIOWrapper(raw, encoding=encoding, errors=_ERRORS, newline="")

    def read(self, n: int) -> bytes:
        return self._text.read(n).encode("utf-8")

    def close(self) -> None:
        self._text.close()


class CsvReader(TableReader):
    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        super().__init__(path, fmt, compression)
        with self._open_binary() as f:
            raw = f.read(_SAMPLE_BYTES)
            complete = not f.read(1)
        self._check_magic(raw)
        encoding = _detect_encoding(raw, complete)
        text = codecs.getincrementaldecoder(encoding)(errors=_ERRORS).decode(raw, final=complete)
        self._cr_only = "\r" in text and "\n" not in text  # classic Mac line ends become \n
        if self._cr_only:
            text = text.replace("\r", "\n")
        sample_complete = complete and len(text) <= _SNIFF_CHARS
        delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(text[:_SNIFF_CHARS], sample_complete)
        header, self._header_row = _find_header(text, delimiter)
        if header is None:
            raise InputError("file is empty" if complete else "no header in the first 4 MB", file=str(path))
        self.info.encoding, self.info.delimiter = encoding, delimiter
        self.info.columns = _clean_header(header)
        self._schema = dict.fromkeys(self.info.columns, pl.String)

    def sample_column(self, column: str, rows: int = 20_000) -> ColumnSample:
        """A large file: the column's values from windows spread across it (no row numbers); records that
        do not have the header's width (a window starting inside a quoted field) are skipped. Gzipped,
        small or unusually encoded files: the reader's own rows (the first `rows`, or all of a small file)."""
        size = self._path.stat().st_size
        plain = self.info.encoding in ("utf-8", "utf-8-sig", "cp1252") and not self._cr_only
        if self.info.compression or not plain or size <= SAMPLE_WHOLE_BELOW:
            return super().sample_column(column, rows if size > SAMPLE_WHOLE_BELOW else 1 << 62)
        idx, width = self.info.columns.index(column), len(self.info.columns)
        encoding = "utf-8" if self.info.encoding == "utf-8-sig" else self.info.encoding or "utf-8"
        per_window = max(rows // SAMPLE_WINDOWS, 1)
        values: list[str | None] = []
        for block in _byte_windows(self._path, size):
            text = io.StringIO(block.decode(encoding, _ERRORS), newline="")
            records = csv.reader(text, delimiter=self.info.delimiter or ",")
            for record in itertools.islice(records, per_window):
                if len(record) == width:
                    values.append(record[idx] or None)
        return ColumnSample(pl.Series(column, values, dtype=pl.String), None, False)

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        block = min(max(chunk_rows * 128, 1 << 16), _MAX_BLOCK)
        first = 1
        pending: list[RawReject] = []  # empty lines not (yet) followed by anything
        with contextlib.closing(self._data_stream()) as stream:
            for seg in _segments(stream, block, self._cr_only, self.info):
                frame, nums, rejects, count = self._parse(seg, first)
                if first <= self._header_row:  # drop the header and blank lines before it
                    keep = nums > self._header_row
                    frame, nums = frame.filter(pl.Series(keep)), nums[keep]
                    rejects = [r for r in rejects if r.row_number > self._header_row]
                last = max([0, *nums[-1:].tolist(), *(r.row_number for r in rejects if r.raw)])
                if last and pending:
                    empty = _frame(self.info.columns, [])
                    yield from _slices(empty, nums[:0], pending, pending[0].row_number, last, chunk_rows)
                    pending = []
                pending += [r for r in rejects if not r.raw and r.row_number > last]
                rejects = [r for r in rejects if r.raw or r.row_number < last]
                start = max(first, self._header_row + 1)
                yield from _slices(frame, nums, rejects, start, first + count, chunk_rows)
                first += count

    def _data_stream(self) -> IO[bytes] | _Utf8Transcoder:
        raw = self._open_binary()
        if self.info.encoding == "utf-8-sig":
            raw.read(len(codecs.BOM_UTF8))
        elif self.info.encoding != "utf-8":
            return _Utf8Transcoder(raw, self.info.encoding or "utf-8")
        return raw

    def _parse(self, seg: bytes, first: int) -> _Parsed:
        """Parse a block of complete records, the first numbered ``first``."""
        if not seg.isascii():
            try:
                seg.decode("utf-8")
            except UnicodeDecodeError:  # stray non-UTF-8 bytes: read them as cp1252
                seg = seg.decode("utf-8", _ERRORS).encode("utf-8")
        bounds = _record_bounds(seg, ord(self.info.delimiter or ","))
        return (bounds and self._parse_fast(seg, first, *bounds)) or self._parse_slow(seg, first)

    def _parse_fast(
        self, seg: bytes, first: int, starts: np.ndarray, ends: np.ndarray, counts: np.ndarray
    ) -> _Parsed | None:
        nums = first + np.arange(len(starts), dtype=np.int64)
        good = (counts == len(self.info.columns)) & (ends > starts)
        rejects = [self._reject(seg[starts[i] : ends[i]], nums[i]) for i in np.flatnonzero(~good)]
        idx = np.flatnonzero(good)
        body = seg if len(idx) == len(starts) else b""
        if 0 < len(idx) < len(starts):  # join the runs of consecutive good records
            cuts = np.flatnonzero(np.diff(idx) != 1)
            runs = zip(idx[np.r_[0, cuts + 1]], idx[np.r_[cuts, len(idx) - 1]], strict=True)
            body = b"\n".join(memoryview(seg)[starts[a] : ends[b]] for a, b in runs)
        try:
            frame = pl.read_csv(
                body,
                has_header=False,
                schema=self._schema,
                quote_char='"',
                separator=self.info.delimiter or ",",
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError:
            return None
        if frame.height != len(idx):
            return None
        if b'""' in seg:  # polars reads an unquoted empty cell as null: only a quoted "" is left empty
            frame = _nullify_empty(frame)
        blank = np.zeros(frame.height, dtype=bool)
        maybe = np.flatnonzero(_maybe_blank(seg, starts[idx], ends[idx], ord(self.info.delimiter or ",")))
        if len(maybe):  # the exact (polars) check, only on records whose first bytes do not decide
            blank[maybe] = _blank_mask(frame[maybe])
        if blank.any():
            rejects += [self._reject(seg[starts[i] : ends[i]], nums[i]) for i in idx[blank]]
            rejects.sort(key=lambda r: r.row_number)
            frame, idx = frame.filter(pl.Series(~blank)), idx[~blank]
        return frame, nums[idx], rejects, len(starts)

    def _reject(self, record: bytes, row: int) -> RawReject:
        raw = record.decode("utf-8")
        fields = next(csv.reader(io.StringIO(raw, newline=""), delimiter=self.info.delimiter or ","), [])
        return RawReject(int(row), raw, self._reason(fields))

    def _reason(self, fields: list[str]) -> str:
        if _is_blank(fields):
            return "empty row"
        return f"ragged row: {len(fields)} fields, header has {len(self.info.columns)}"

    def _parse_slow(self, seg: bytes, first: int) -> _Parsed:
        """csv.reader path, for blocks with irregular quoting or bare CR line ends."""
        delimiter, ncols = self.info.delimiter or ",", len(self.info.columns)
        rows, nums, rejects, count = [], [], [], 0
        reader = csv.reader(io.StringIO(seg.decode("utf-8", _ERRORS), newline=""), delimiter=delimiter)
        try:
            for count, fields in enumerate(reader, 1):
                if len(fields) == ncols and not _is_blank(fields):
                    rows.append(fields)
                    nums.append(first + count - 1)
                else:
                    raw = _unparse(fields, delimiter)
                    rejects.append(RawReject(first + count - 1, raw, self._reason(fields)))
        except csv.Error as exc:
            raise InputError(f"cannot parse CSV: {exc}", file=self.info.path, row=first + count) from exc
        return _nullify_empty(_frame(self.info.columns, rows)), np.array(nums, dtype=np.int64), rejects, count


def _maybe_blank(seg: bytes, starts: np.ndarray, ends: np.ndarray, d: int) -> np.ndarray:
    """False for records that surely have a non-blank cell: the first byte, or the byte after an opening
    quote, is not whitespace, a quote or the delimiter. True for the few that need the exact check."""
    a = np.frombuffer(seg, dtype=np.uint8)
    blankish = np.zeros(256, dtype=bool)
    blankish[[d, 34, *_WS.encode()]] = True
    first = a[starts]
    maybe = blankish[first]
    quoted = np.flatnonzero(maybe & (first == 34) & (starts + 1 < ends))
    maybe[quoted] = blankish[a[starts[quoted] + 1]]
    return maybe


def _detect_encoding(raw: bytes, complete: bool) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    text = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape").decode(raw, final=complete)
    invalid = len(re.findall("[\udc80-\udcff]", text))
    # a few stray bytes among real UTF-8 characters are cp1252 typos in a UTF-8 file, not a cp1252 file
    valid = len(re.findall("[^\x00-\x7f\udc80-\udcff]", text)) if invalid else 0
    return "utf-8" if not invalid or valid > invalid else "cp1252"


def _sniff_delimiter(sample: str, complete: bool) -> str:
    """csv.Sniffer proposes; parsing the first 200 records decides. The winner splits the header into
    several fields and gives the most records that width (ties: Sniffer's pick, more fields, , ; tab |)."""
    try:
        sniffed = csv.Sniffer().sniff(sample[:8192], delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:  # "Could not determine delimiter"
        sniffed = None

    def score(d: str) -> tuple[bool, float, bool, int]:
        rows = list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=d), 201))
        if rows and len(rows) <= 200 and not complete:
            rows.pop()  # the sample's last record may be cut short
        rows = [r for r in rows[:200] if not _is_blank(r)]
        if not rows:
            return False, 0.0, False, 0
        width = len(rows[0])
        fit = sum(len(r) == width for r in rows[1:]) / max(len(rows) - 1, 1)
        return width > 1, fit, d == sniffed, width

    best = max(_DELIMITERS, key=score)
    return best if score(best)[0] else ","  # nothing splits the header: a one-column file


def _find_header(text: str, delimiter: str) -> tuple[list[str] | None, int]:
    """The first non-blank record and its record number."""
    for n, fields in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
        if not _is_blank(fields):
            return fields, n
    return None, 0


def _unparse(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()  # with "\r\n" as terminator csv quotes fields containing \r or \n
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    return out.getvalue()[:-2]


def _segments(
    stream: IO[bytes] | _Utf8Transcoder, block: int, cr_only: bool, info: TableInfo
) -> Iterator[bytes]:
    """Yield blocks of complete records, cut where csv.reader would end a record."""
    carry = b""
    while True:
        data = stream.read(block)
        data = data.replace(b"\r", b"\n") if cr_only else data
        buf = carry + data if carry else data
        if not data:
            if buf:
                yield buf
            return
        cut = _last_record_end(buf)
        if not (cut and _regular_quotes(buf[:cut], ord(info.delimiter or ","))):
            cut = _csv_record_end(buf, info.delimiter or ",") if len(buf) > block or cut else 0
        if not cut and len(buf) > _MAX_RECORD:
            message = f"a record is longer than {_MAX_RECORD >> 20} MB (is a quote left open?)"
            raise InputError(message, file=info.path)
        if cut:
            yield buf[:cut]
        carry = buf[cut:]


def _last_record_end(buf: bytes) -> int:
    """Offset just after the last newline preceded by an even number of quotes (0 if none)."""
    pos = buf.rfind(b"\n")
    quotes = buf.count(b'"', 0, max(pos, 0))
    while pos >= 0 and quotes % 2:
        prev = buf.rfind(b"\n", 0, pos)
        quotes -= buf.count(b'"', prev + 1, pos)
        pos = prev
    return pos + 1


def _csv_record_end(buf: bytes, delimiter: str) -> int:
    """Offset after the last record csv.reader surely completes in ``buf`` (slow: irregular quotes only)."""
    lines = buf.splitlines(keepends=True)
    reader = csv.reader((line.decode("utf-8", _ERRORS) for line in lines), delimiter=delimiter)
    ends = [reader.line_num for _ in reader]  # lines consumed after each record
    return sum(map(len, lines[: ends[-2]])) if len(ends) > 1 else 0


def _regular_quotes(seg: bytes, d: int, quotes: np.ndarray | None = None) -> bool:
    """True if quotes pair up, open at field starts and close at field ends (doubled quotes inside),
    and there is no bare CR: then quote parity gives exactly csv.reader's records and fields."""
    if b"\r" in seg and seg.count(b"\r") != seg.count(b"\r\n"):
        return False
    a = np.frombuffer(seg, dtype=np.uint8)
    quotes = np.flatnonzero(a == 34) if quotes is None else quotes
    if len(quotes) % 2:
        return False
    if not len(quotes):
        return True
    opens, closes = quotes[0::2], quotes[1::2]
    doubled = opens[1:] - 1 == closes[:-1]  # "" inside a quoted field closes and reopens it
    before, after = a[np.maximum(opens - 1, 0)], a[np.minimum(closes + 1, len(a) - 1)]
    ok_open = (opens == 0) | (before == d) | (before == 10) | np.r_[False, doubled]
    ok_close = (closes == len(a) - 1) | (after == d) | (after == 10) | (after == 13) | np.r_[doubled, False]
    return bool(ok_open.all() and ok_close.all())


def _record_bounds(seg: bytes, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Start, end (line end excluded) and unquoted field count of each record, vectorised with numpy;
    None when quoting is irregular (see _regular_quotes), which csv.reader must then handle."""
    a = np.frombuffer(seg, dtype=np.uint8)
    quotes, delims, newlines = np.flatnonzero(a == 34), np.flatnonzero(a == d), np.flatnonzero(a == 10)
    if not _regular_quotes(seg, d, quotes):
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    newlines = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    if not len(newlines) or newlines[-1] != len(a) - 1:
        newlines = np.r_[newlines, len(a)]  # last record without a newline
    quoted = np.r_[0, np.cumsum(np.searchsorted(delims, closes) - np.searchsorted(delims, opens))]
    unquoted_before = np.searchsorted(delims, newlines) - quoted[np.searchsorted(closes, newlines)]
    counts = np.diff(np.r_[0, unquoted_before]) + 1
    starts = np.r_[0, newlines[:-1] + 1]
    ends = newlines - ((newlines > starts) & (a[np.maximum(newlines - 1, 0)] == 13))
    return starts, ends, counts


# ------------------------------------------------------------------------------------------ JSON Lines
