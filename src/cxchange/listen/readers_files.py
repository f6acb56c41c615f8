"""JSON Lines, Excel and Parquet readers (see readers.py for the shared rules)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cxchange.core.errors import InputError
from cxchange.listen.readers import (  # package-internal helpers shared by the format readers
    _ERRORS,
    SAMPLE_WHOLE_BELOW,
    SAMPLE_WINDOWS,
    Chunk,
    ColumnSample,
    RawReject,
    TableReader,
    _blank_mask,
    _byte_windows,
    _clean_header,
    _drop_blank,
    _nullify_empty,
    _series_str,
    _slices,
    _value_str,
)

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


class JsonlReader(TableReader):
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

    def sample_column(self, column: str, rows: int = 20_000) -> ColumnSample:
        """A large file: the column's values from windows of lines spread across it (no row numbers)."""
        size = self._path.stat().st_size
        if self.info.compression or size <= SAMPLE_WHOLE_BELOW:
            return super().sample_column(column, rows if size > SAMPLE_WHOLE_BELOW else 1 << 62)
        key = self._keys[self.info.columns.index(column)]
        values: list[str | None] = []
        for block in _byte_windows(self._path, size):
            for line in block.decode("utf-8", _ERRORS).splitlines()[: max(rows // SAMPLE_WINDOWS, 1)]:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    values.append(_value_str(obj.get(key)))
        return ColumnSample(pl.Series(column, values, dtype=pl.String), None, False)

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


class XlsxReader(TableReader):
    """First sheet via calamine, every cell read as text; the sheet is loaded whole, then sliced."""

    def __init__(self, path: Path, fmt: str, compression: str | None) -> None:
        super().__init__(path, fmt, compression)
        with open(self._file, "rb") as f:
            if not f.read(4).startswith(b"PK\x03\x04"):
                raise InputError("not an xlsx workbook (old .xls? save it as .xlsx or CSV)", file=str(path))
        self._sheet: pl.DataFrame | None = None
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

    def _data(self) -> pl.DataFrame:
        """The sheet below its header, parsed once (a date sample and the import share it)."""
        if self._sheet is None:
            sheet = self._read()
            data = sheet.slice(1)
            data.columns = _clean_header(list(sheet.row(0))) if sheet.height else self.info.columns
            # calamine writes date cells as "YYYY-MM-DD HH:MM:SS"; a date at midnight is just the date
            midnight = r"^(\d{4}-\d\d-\d\d) 00:00:00$"
            self._sheet = _nullify_empty(data).with_columns(pl.all().str.replace(midnight, "${1}"))
        return self._sheet

    def sample_column(self, column: str, rows: int = 20_000) -> ColumnSample:
        """The whole column: the sheet is parsed whole anyway."""
        data = self._data()
        return ColumnSample(data[column], np.arange(2, 2 + data.height, dtype=np.int64), True)

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        data = self._data()
        self._sheet = None  # the chunks hold it from here; a second pass parses again
        frame, nums, rejects = _drop_blank(data, np.arange(2, 2 + data.height, dtype=np.int64))
        yield from _slices(frame, nums, rejects, 2, 2 + data.height, chunk_rows)


class ParquetReader(TableReader):
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

    def sample_column(self, column: str, rows: int = 20_000) -> ColumnSample:
        """The whole column: Parquet reads one column alone."""
        try:
            series = pl.read_parquet(self._file, columns=[self.info.columns.index(column)]).to_series()
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"cannot read parquet file: {exc}", file=self.info.path) from exc
        values = _nullify_empty(pl.DataFrame([_series_str(series).alias(column)]))[column]
        return ColumnSample(values, np.arange(2, 2 + values.len(), dtype=np.int64), True)

    def _chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        row = 2
        for batch in self._batches(chunk_rows):
            columns = zip(batch, self.info.columns, strict=True)
            frame = pl.DataFrame([_series_str(s).alias(name) for s, name in columns])
            nums = np.arange(row, row + frame.height, dtype=np.int64)
            row += frame.height
            frame, nums, rejects = _drop_blank(_nullify_empty(frame), nums)
            yield Chunk(frame, nums, rejects)
