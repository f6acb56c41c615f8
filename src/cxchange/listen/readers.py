"""Streaming readers for feedback exports: CSV/TSV, Excel (xlsx), JSON Lines and Parquet (pure I/O).

``open_table(path)`` returns a :class:`TableReader`; ``iter_chunks()`` yields all-string polars frames
plus the records that could not be used (:class:`RawReject`). Memory is bounded by the chunk size,
except for xlsx, which calamine parses whole (a sheet is capped at ~1M rows anyway).

* Row numbers are spreadsheet-style: header = row 1, first data record = row 2, counting records (a
  quoted newline does not shift later numbers). JSONL uses line numbers. Blank lines before a CSV
  header are counted; xlsx counts from the first used row.
* CSV encoding: a UTF-8/UTF-16 BOM wins; else the first 4 MB are decoded as UTF-8, and the file is
  read as cp1252 if invalid bytes outnumber valid non-ASCII UTF-8 characters. A UTF-8 file is still
  decoded with a per-byte cp1252 fallback, so a stray Latin-1 "é" (in the sample or after it) reads as
  "é" instead of aborting a long import or becoming U+FFFD; bytes undefined in cp1252 map to Latin-1.
  No byte is ever dropped.
* CSV parsing is done in blocks cut after unquoted newlines. numpy locates records and counts their
  unquoted delimiters, so ragged and blank records are rejected with exact numbers, and the good ones
  go to polars' multi-threaded parser (~3.5x faster than ``csv.reader``). Blocks whose quotes do not
  open/close at field edges, or that contain bare CRs, use ``csv.reader`` (same rules, slower).
* A row whose cells are all empty or ASCII whitespace is an "empty row" reject, except physically
  empty lines at the end of a CSV file. Empty strings become None. Integral floats print as integers
  ("9", not "9.0"), booleans "true"/"false", datetimes "YYYY-MM-DD HH:MM:SS[.fff]", nested values JSON.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import csv
import gzip
import io
import itertools
import json
import os
import re
import shutil
import tempfile
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from cxchange.core.errors import InputError

FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".jsonlines": "jsonl",
    ".parquet": "parquet",
}
_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 4 << 20  # encoding detection sample
_SNIFF_CHARS = 64 << 10  # delimiter detection sample (csv.Sniffer sees its first 8 KB)
_MAX_BLOCK = 2 << 20  # CSV block size: larger blocks were not faster, only bigger
_MAX_RECORD = 64 << 20  # a longer CSV record almost certainly means an unclosed quote
_WS = " \t\r\n\f\v"  # a cell made of these is blank
_ERRORS = "cxchange-cp1252"
_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: read undecodable bytes as cp1252 (Latin-1 for its 5 undefined bytes)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_ERRORS, _cp1252_fallback)
csv.field_size_limit(max(csv.field_size_limit(), _MAX_RECORD))


@dataclass
class RawReject:
    row_number: int  # as for Chunk.row_numbers
    raw: str  # the record's text (CSV: as in the file, line end excluded; JSONL: the line)
    reason: str  # "ragged row: 7 fields, header has 5", "empty row", "invalid JSON: ...", ...


@dataclass
class Chunk:
    frame: pl.DataFrame  # one pl.String column per header column
    row_numbers: np.ndarray  # int64, the row number of each frame row
    rejects: list[RawReject]


@dataclass
class TableInfo:
    path: str
    format: str
    compression: str | None
    encoding: str | None
    delimiter: str | None
    columns: list[str]


def open_table(path: str | Path, *, format: str | None = None) -> TableReader:
    """Open a table for streaming; InputError for missing, empty, unrecognised or unreadable files."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(path))
    fmt = _resolve_format(p, format)
    with open(p, "rb") as f:
        magic = f.read(2)
    if not magic:
        raise InputError("file is empty", file=str(p))
    readers: dict[str, type[TableReader]] = {
        "csv": _CsvReader,
        "tsv": _CsvReader,
        "xlsx": _XlsxReader,
        "jsonl": _JsonlReader,
        "parquet": _ParquetReader,
    }
    try:
        return readers[fmt](p, fmt, "gzip" if magic == b"\x1f\x8b" else None)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read {fmt} file: {exc}", file=str(p)) from exc


def _resolve_format(p: Path, fmt: str | None) -> str:
    if fmt is not None:
        name = fmt.lower().lstrip(".")
        name = _EXTENSIONS.get("." + name, name)
        if name not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", file=str(p))
        return name
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    ext = suffixes[-1] if suffixes else ""
    if ext not in _EXTENSIONS:
        shown = f"'{ext}'" if ext else "(no extension)"
        formats = ", ".join(FORMATS)
        raise InputError(f"unknown format {shown}; use one of {formats} or pass --format", file=str(p))
    return _EXTENSIONS[ext]


class TableReader:
    """Streams one table; may be iterated more than once. Subclasses implement ``_chunks``."""

    info: TableInfo

    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        self._path = self._file = path  # _file: what xlsx/parquet parsers open (a temp copy if gzipped)
        if compression and fmt in ("xlsx", "parquet"):
            fd, tmp = tempfile.mkstemp(suffix="." + fmt, prefix="cxchange-")
            with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            self._file = Path(tmp)
            self._cleanup = weakref.finalize(self, _unlink, tmp)
        self.info = TableInfo(str(path), fmt, compression, None, None, [])

    def iter_chunks(self, chunk_rows: int = 50_000) -> Iterator[Chunk]:
        """Yield chunks of at most ``chunk_rows`` records (good rows plus rejects); CSV chunks also end
        at 2 MB block boundaries, so they may be smaller."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        try:
            yield from self._chunks(chunk_rows)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot read {self.info.format} file: {exc}", file=self.info.path) from exc

    def preview(self, n: int = 5) -> pl.DataFrame:
        """The first ``n`` good rows, all strings."""
        frames: list[pl.DataFrame] = []
        with contextlib.closing(self.iter_chunks(max(n, 100))) as chunks:
            for chunk in chunks:
                frames.append(chunk.frame)
                if sum(f.height for f in frames) >= n:
                    break
        return pl.concat(frames).head(n) if frames else _frame(self.info.columns, [])

    def close(self) -> None:
        """Remove the decompressed temp copy, if any (also happens when the reader is collected)."""
        if hasattr(self, "_cleanup"):
            self._cleanup()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def _open_binary(self) -> IO[bytes]:
        if self.info.compression == "gzip":
            return gzip.open(self._path, "rb")  # type: ignore[return-value]
        return open(self._path, "rb", buffering=1 << 20)

    def _check_magic(self, head: bytes) -> None:
        for magic, kind in ((b"PK\x03\x04", "xlsx"), (b"PAR1", "parquet")):
            if head.startswith(magic):
                raise InputError(
                    f"this looks like a {kind} file, not {self.info.format}; "
                    f"rename it or pass --format {kind}",
                    file=self.info.path,
                )


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# ------------------------------------------------------------------------------------ shared helpers


def _clean_header(names: list[Any]) -> list[str]:
    """Strip names; blank ones become column_<position>, repeats get _2, _3 ... suffixes."""
    out: list[str] = []
    for i, raw in enumerate(names, 1):
        base = ("" if raw is None else str(raw)).replace("\ufeff", "").strip() or f"column_{i}"
        name = base
        for k in itertools.count(2):
            if name not in out:
                break
            name = f"{base}_{k}"
        out.append(name)
    return out


def _frame(columns: list[str], rows: list[Any]) -> pl.DataFrame:
    """An all-string frame from row lists of str/None."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pl.DataFrame([pl.Series(name, c, dtype=pl.String) for name, c in zip(columns, cols, strict=True)])


def _nullify_empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.when(pl.all() != "").then(pl.all()).name.keep())


def _is_blank(values: list[str] | list[str | None]) -> bool:
    return not any(v and v.strip(_WS) for v in values)


def _blank_mask(frame: pl.DataFrame) -> np.ndarray:
    if not frame.height:
        return np.zeros(0, dtype=bool)
    blank = pl.all_horizontal(pl.all().fill_null("").str.strip_chars(_WS) == "")
    return frame.select(blank).to_series().to_numpy()


def _drop_blank(frame: pl.DataFrame, nums: np.ndarray) -> tuple[pl.DataFrame, np.ndarray, list[RawReject]]:
    """Remove blank rows; they come back as "empty row" rejects (raw: the cells joined with commas)."""
    blank = _blank_mask(frame)
    if not blank.any():
        return frame, nums, []
    rejects = [
        RawReject(int(nums[i]), ",".join(v or "" for v in frame.row(int(i))), "empty row")
        for i in np.flatnonzero(blank)
    ]
    return frame.filter(pl.Series(~blank)), nums[~blank], rejects


def _slices(
    frame: pl.DataFrame, nums: np.ndarray, rejects: list[RawReject], first: int, end: int, size: int
) -> Iterator[Chunk]:
    """Cut the rows and rejects numbered [first, end) into chunks of ``size`` records."""
    reject_nums = [r.row_number for r in rejects]
    for lo in range(first, end, size):
        a, b = np.searchsorted(nums, [lo, lo + size])
        ra, rb = bisect.bisect_left(reject_nums, lo), bisect.bisect_left(reject_nums, lo + size)
        if b > a or rb > ra:
            yield Chunk(frame.slice(int(a), int(b - a)), nums[a:b], rejects[ra:rb])


def _value_str(v: Any) -> str | None:
    """A Python/JSON value as text."""
    if v is None or isinstance(v, str):
        return v or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _series_str(s: pl.Series) -> pl.Series:
    """Any polars Series as strings."""
    dt = s.dtype
    if dt == pl.String:
        return s
    if dt.is_float():
        integral = s.is_finite() & (s.round(0) == s) & (s.abs() < 1e15)
        as_int, as_float = s.cast(pl.Int64, strict=False).cast(pl.String), s.cast(pl.String)
        return pl.select(pl.when(integral).then(as_int).otherwise(as_float).alias(s.name)).to_series()
    if dt == pl.Date:
        return s.dt.to_string("%Y-%m-%d")
    if isinstance(dt, pl.Datetime):
        return s.dt.to_string("%Y-%m-%d %H:%M:%S%.f" + ("%:z" if dt.time_zone else ""))
    if not dt.is_nested():
        with contextlib.suppress(pl.exceptions.PolarsError):
            return s.cast(pl.String)
    return pl.Series(s.name, [_value_str(v) for v in s.to_list()], dtype=pl.String)


# ---------------------------------------------------------------------------------------- CSV, TSV

_Parsed = tuple[pl.DataFrame, np.ndarray, list[RawReject], int]  # good rows, their numbers, rejects, records


class _Utf8Transcoder:
    """Minimal binary stream re-encoding a non-UTF-8 file as UTF-8, so blocks can go to polars."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self._text = io.TextIOWrapper(raw, encoding=encoding, errors=_ERRORS, newline="")

    def read(self, n: int) -> bytes:
        return self._text.read(n).encode("utf-8")

    def close(self) -> None:
        self._text.close()


class _CsvReader(TableReader):
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

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        block = min(max(chunk_rows * 128, 1 << 16), _MAX_BLOCK)
        first, pending = 1, []  # pending: empty lines not (yet) followed by anything
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
        frame = _nullify_empty(frame)
        blank = _blank_mask(frame)
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

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


class _JsonlReader(TableReader):
    """Columns: the union of all keys in first-seen order, collected by a first pass over the file."""

    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        super().__init__(path, fmt, compression)
        with self._open_binary() as f:
            self._check_magic(f.read(8))
        keys: dict[str, None] = {}
        seen = False
        for _, line in self._lines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if not seen and (isinstance(obj, list) or (obj is None and line.strip() in ("[", "{"))):
                message = "this is a JSON document, not JSON Lines (one object per line)"
                raise InputError(message, file=str(path))
            seen = True
            if isinstance(obj, dict):
                keys.update(dict.fromkeys(obj))
        if not keys:
            raise InputError("no JSON object with keys found" if seen else "file is empty", file=str(path))
        self._keys = list(keys)
        self.info.encoding, self.info.columns = "utf-8", _clean_header(self._keys)

    def _lines(self) -> Iterator[tuple[int, str]]:
        with io.TextIOWrapper(self._open_binary(), encoding="utf-8-sig", errors=_ERRORS) as text:
            for n, line in enumerate(text, 1):
                if line.strip():
                    yield n, line.rstrip("\r\n")

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        objs: list[dict[str, Any]] = []
        lines: list[tuple[int, str]] = []
        rejects: list[RawReject] = []
        for n, line in self._lines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rejects.append(RawReject(n, line, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            else:
                if isinstance(obj, dict):
                    objs.append(obj)
                    lines.append((n, line))
                else:
                    kind = _JSON_TYPES.get(type(obj), "null")
                    rejects.append(RawReject(n, line, f"not a JSON object: {kind}"))
            if len(objs) + len(rejects) >= chunk_rows:
                yield self._chunk(objs, lines, rejects)
                objs, lines, rejects = [], [], []
        if objs or rejects:
            yield self._chunk(objs, lines, rejects)

    def _chunk(
        self, objs: list[dict[str, Any]], lines: list[tuple[int, str]], rejects: list[RawReject]
    ) -> Chunk:
        """Build the frame column by column; columns holding only strings skip per-value conversion."""
        columns = []
        for key, name in zip(self._keys, self.info.columns, strict=True):
            values = [obj.get(key) for obj in objs]
            if not set(map(type, values)) <= {str, type(None)}:
                values = [_value_str(v) for v in values]
            columns.append(pl.Series(name, values, dtype=pl.String))
        frame = _nullify_empty(pl.DataFrame(columns))
        nums = np.array([n for n, _ in lines], dtype=np.int64)
        blank = _blank_mask(frame)
        if blank.any():
            rejects = sorted(
                rejects + [RawReject(*lines[i], "empty row") for i in np.flatnonzero(blank)],
                key=lambda r: r.row_number,
            )
            frame, nums = frame.filter(pl.Series(~blank)), nums[~blank]
        return Chunk(frame, nums, rejects)


# ------------------------------------------------------------------------------------- xlsx, Parquet


class _XlsxReader(TableReader):
    """First sheet via calamine, every cell read as text; the sheet is loaded whole, then sliced."""

    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        super().__init__(path, fmt, compression)
        with open(self._file, "rb") as f:
            if not f.read(4).startswith(b"PK\x03\x04"):
                raise InputError("not an xlsx workbook (old .xls? save it as .xlsx or CSV)", file=str(path))
        head = self._read(n_rows=1)
        if not head.height:
            raise InputError("the first sheet is empty", file=str(path))
        self.info.columns = _clean_header(list(head.row(0)))

    def _read(self, n_rows: int | None = None) -> pl.DataFrame:
        import fastexcel

        options: dict[str, Any] = {"header_row": None, "dtypes": "string"}
        if n_rows:
            options["n_rows"] = n_rows
        try:
            return pl.read_excel(
                self._file,
                engine="calamine",
                has_header=False,
                read_options=options,
                drop_empty_rows=False,
                drop_empty_cols=False,
                raise_if_empty=False,
            )
        except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read xlsx file: {exc}", file=self.info.path) from exc

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        sheet = self._read()
        data = sheet.slice(1)
        data.columns = _clean_header(list(sheet.row(0))) if sheet.height else self.info.columns
        # calamine writes date cells as "YYYY-MM-DD HH:MM:SS"; a date at midnight is just the date
        midnight = r"^(\d{4}-\d\d-\d\d) 00:00:00$"
        data = _nullify_empty(data).with_columns(pl.all().str.replace(midnight, "${1}"))
        frame, nums, rejects = _drop_blank(data, np.arange(2, 2 + data.height, dtype=np.int64))
        yield from _slices(frame, nums, rejects, 2, 2 + data.height, chunk_rows)


class _ParquetReader(TableReader):
    """Streams record batches with pyarrow if installed, else slices a polars lazy scan."""

    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        super().__init__(path, fmt, compression)
        with open(self._file, "rb") as f:
            if f.read(4) != b"PAR1":
                raise InputError("not a Parquet file", file=str(path))
        try:
            import pyarrow.parquet as pq

            names = pq.ParquetFile(self._file).schema_arrow.names
        except ImportError:
            names = list(pl.read_parquet_schema(self._file))
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
            raise InputError(f"cannot read parquet file: {exc}", file=str(path)) from exc
        self.info.columns = _clean_header(names)

    def _batches(self, size: int) -> Iterator[list[pl.Series]]:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            scan = pl.scan_parquet(self._file)
            for offset in range(0, scan.select(pl.len()).collect().item(), size):
                yield scan.slice(offset, size).collect().get_columns()
            return
        for batch in pq.ParquetFile(self._file).iter_batches(batch_size=size):
            yield [pl.Series(pl.from_arrow(column)) for column in batch.columns]

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        row = 2
        for batch in self._batches(chunk_rows):
            columns = zip(batch, self.info.columns, strict=True)
            frame = pl.DataFrame([_series_str(s).alias(name) for s, name in columns])
            nums = np.arange(row, row + frame.height, dtype=np.int64)
            row += frame.height
            frame, nums, rejects = _drop_blank(_nullify_empty(frame), nums)
            yield Chunk(frame, nums, rejects)
