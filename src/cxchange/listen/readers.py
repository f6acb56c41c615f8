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
import itertools
import json
import os
import shutil
import tempfile
import weakref
import zlib
from collections.abc import Callable, Generator, Iterator
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
class ColumnSample:
    """One column's values for a decision made before the import (the dates' reading): the whole column
    or a sample spread across the file (see ``TableReader.sample_column``)."""

    values: pl.Series  # strings
    rows: np.ndarray | None  # the row number of each value; None when not known (a CSV's byte windows)
    whole: bool  # the whole column, not a sample


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
    # The format readers live in their own modules, which build on the helpers here.
    from cxchange.listen.readers_csv import CsvReader
    from cxchange.listen.readers_files import JsonlReader, ParquetReader, XlsxReader

    readers: dict[str, type[TableReader]] = {
        "csv": CsvReader,
        "tsv": CsvReader,
        "xlsx": XlsxReader,
        "jsonl": JsonlReader,
        "parquet": ParquetReader,
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

    def iter_chunks(self, chunk_rows: int = 50_000) -> Generator[Chunk, None, None]:
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

    def sample_column(self, column: str, rows: int = 20_000) -> ColumnSample:
        """The column's values, as many as `rows` from across the file where the format allows; this
        default reads the first `rows` records (whole=True if that is all of them)."""
        values: list[pl.Series] = []
        nums: list[np.ndarray] = []
        taken, whole = 0, True
        with contextlib.closing(self.iter_chunks(min(rows, 50_000))) as chunks:
            for chunk in chunks:
                if taken >= rows:
                    whole = False
                    break
                values.append(chunk.frame[column])
                nums.append(chunk.row_numbers)
                taken += chunk.frame.height
        if not values:
            return ColumnSample(pl.Series(column, [], dtype=pl.String), np.zeros(0, dtype=np.int64), True)
        return ColumnSample(pl.concat(values), np.concatenate(nums), whole)

    def find_rows(self, column: str, values: list[str]) -> dict[str, int]:
        """The first row holding each of `values` in `column` (stripped), reading only as far as needed."""
        found: dict[str, int] = {}
        with contextlib.closing(self.iter_chunks()) as chunks:
            for chunk in chunks:
                cells = chunk.frame[column].str.strip_chars()
                for value in values:
                    hit = (cells == value).fill_null(False)
                    if value not in found and hit.any():
                        found[value] = int(chunk.row_numbers[int(hit.arg_true()[0])])
                if len(found) == len(values):
                    break
        return found

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


# A sample spread across a large file: this many windows of this many bytes, evenly spaced (the first at
# the start), so a file sorted by date shows its last months too. Smaller files are read whole.
SAMPLE_WINDOWS = 48
SAMPLE_WINDOW_BYTES = 48 << 10
SAMPLE_WHOLE_BELOW = 4 << 20


def _byte_windows(path: Path, size: int) -> Iterator[bytes]:
    """The complete lines of each sample window (from the first line end to the last one)."""
    with open(path, "rb") as f:
        for k in range(SAMPLE_WINDOWS):
            f.seek((size - SAMPLE_WINDOW_BYTES) * k // (SAMPLE_WINDOWS - 1))
            block = f.read(SAMPLE_WINDOW_BYTES)
            start, end = block.find(b"\n") + 1, block.rfind(b"\n")
            if 0 < start <= end:
                yield block[start:end]


def first_chunk_sampler(chunks: Iterator[Chunk]) -> tuple[Iterator[Chunk], Callable[[str], ColumnSample]]:
    """For input that only streams (no file to sample): the chunks unchanged, and a sampler that
    answers from the first chunk."""
    source = iter(chunks)
    first = next(source, None)
    if first is None:
        return iter(()), lambda column: ColumnSample(pl.Series(column, [], dtype=pl.String), None, True)
    return itertools.chain([first], source), lambda c: ColumnSample(first.frame[c], first.row_numbers, False)


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
