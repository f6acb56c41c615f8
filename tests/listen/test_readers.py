"""Tests for cxchange.listen.readers against the fixtures in tests/listen/fixtures (see make_fixtures.py)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import shutil
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxchange.core.errors import InputError
from cxchange.listen import readers_csv
from cxchange.listen.readers import FORMATS, Chunk, RawReject, TableReader, open_table

FIXTURES = Path(__file__).parent / "fixtures"
NPS = "How likely are you to recommend us to a friend?"
SURVEY = ["Response ID", "Submitted At", NPS, "Comment", "Store", "Region"]
ALL_FIXTURES = [
    "bom_semicolon.csv",
    "cp1252.csv",
    "quoted_newlines.csv",
    "ragged.csv",
    "survey.tsv",
    "survey.xlsx",
    "survey.jsonl",
    "survey.parquet",
    "survey.csv.gz",
]


def read_all(reader: TableReader, chunk_rows: int = 50_000) -> tuple[list[tuple], list[int], list[RawReject]]:
    rows: list[tuple] = []
    numbers: list[int] = []
    rejects: list[RawReject] = []
    for chunk in reader.iter_chunks(chunk_rows):
        assert isinstance(chunk, Chunk)
        assert chunk.frame.columns == reader.info.columns
        assert all(dtype == pl.String for dtype in chunk.frame.dtypes)
        assert chunk.row_numbers.dtype == np.int64
        assert len(chunk.row_numbers) == chunk.frame.height
        assert chunk.frame.height or chunk.rejects
        rows += chunk.frame.rows()
        numbers += chunk.row_numbers.tolist()
        rejects += chunk.rejects
    return rows, numbers, rejects


# ------------------------------------------------------------------------------------- fixtures


def test_bom_semicolon_csv() -> None:
    reader = open_table(FIXTURES / "bom_semicolon.csv")
    assert (reader.info.format, reader.info.encoding, reader.info.delimiter) == ("csv", "utf-8-sig", ";")
    assert reader.info.columns == SURVEY  # no BOM left on "Response ID"
    rows, numbers, rejects = read_all(reader)
    assert numbers == [2, 3, 4, 5] and rejects == []
    assert rows[0] == ("R001", "2024-03-01 09:15", "9", "Très bien, merci !", "Zürich Bahnhof", "Nord")
    assert rows[1][3] == "Prix; trop élevé"  # quoted delimiter
    assert rows[2][3] is None  # empty cell
    assert rows[3][2:4] == ("7,5", "Délai: 3,5 jours") and rows[3][5] is None


def test_cp1252_csv() -> None:
    reader = open_table(FIXTURES / "cp1252.csv")
    assert (reader.info.encoding, reader.info.delimiter, reader.info.columns) == ("cp1252", ",", SURVEY)
    rows, numbers, _ = read_all(reader)
    assert numbers == [2, 3, 4]
    assert rows[0][3] == "Café was lovely – but €4.50 for a latte?"
    assert rows[0][4:] == ("Müller’s Laden", "Süd")
    assert rows[1][3:5] == ("Staff didn’t help, señor", "Crème Brûlée")
    assert rows[2][3] == "Über gut"


def test_quoted_newlines_csv() -> None:
    reader = open_table(FIXTURES / "quoted_newlines.csv")
    rows, numbers, rejects = read_all(reader)
    assert numbers == [2, 3, 4, 5, 6] and rejects == []  # records, not physical lines
    comments = [row[3] for row in rows]
    assert comments == [
        "Line one\nline two, with a comma",
        'He said "never again"\r\nand left.',
        None,
        'Three\n\nparagraphs, "quoted", done',
        "plain",
    ]
    assert rows[2][2] is None and rows[4] == ("Q5", "2024-04-03", "7", "plain", "Leeds", "North")


def test_ragged_csv() -> None:
    reader = open_table(FIXTURES / "ragged.csv")
    assert reader.info.columns == ["Response ID", "Score", "Comment", "Store", "Region"]
    rows, numbers, rejects = read_all(reader)
    assert numbers == [2, 4, 8, 9]
    assert [row[0] for row in rows] == ["A1", "A3", "A5", "A6"]
    assert rows[2][2] == "multi\nline"
    assert rejects == [
        RawReject(3, "A2,8,too,many,fields,here,!", "ragged row: 7 fields, header has 5"),
        RawReject(5, "A4,6,short", "ragged row: 3 fields, header has 5"),
        RawReject(6, "", "empty row"),
        RawReject(7, ",,,,", "empty row"),
    ]  # the blank line at the end of the file is not a reject


def test_survey_tsv_dedupes_header() -> None:
    reader = open_table(FIXTURES / "survey.tsv")
    assert (reader.info.format, reader.info.delimiter) == ("tsv", "\t")
    assert reader.info.columns == ["Response ID", "Submitted At", "Score", "Score_2", "column_5", "Comment"]
    rows, numbers, _ = read_all(reader)
    assert numbers == [2, 3, 4]
    assert rows[0] == ("T1", "2024-05-01", "9", "10", "x", "great")
    assert rows[1] == ("T2", "2024-05-02", "4", None, None, 'tab\there, "quoted"')
    assert rows[2][4:] == (None, None)


def test_survey_xlsx() -> None:
    reader = open_table(FIXTURES / "survey.xlsx")
    assert (reader.info.format, reader.info.encoding, reader.info.delimiter) == ("xlsx", None, None)
    assert reader.info.columns == SURVEY
    rows, numbers, rejects = read_all(reader)
    assert numbers == [2, 3, 5]
    assert rows[0] == ("X1", "2024-03-01 09:15:00", "9", "Great, thanks", "Leeds", "North")
    assert rows[1] == ("X2", "2024-03-02", "7.5", "Crème brûlée ’n’ €", "00123", "South")
    assert rows[2] == ("X3", "yesterday", "10", None, "York", "true")
    assert [(r.row_number, r.reason) for r in rejects] == [(4, "empty row")]


def test_survey_jsonl() -> None:
    reader = open_table(FIXTURES / "survey.jsonl")
    assert (reader.info.format, reader.info.encoding) == ("jsonl", "utf-8")
    assert reader.info.columns == ["Response ID", "Score", "Comment", "Tags", "Meta", "Channel", "Ok"]
    rows, numbers, rejects = read_all(reader)
    assert numbers == [1, 2, 6]  # line numbers; line 3 is blank and skipped
    assert rows[0] == ("J1", "9", "Très bien", '["fast", "kind"]', None, None, None)
    assert rows[1] == ("J2", "7", None, None, '{"device": "ios"}', None, None)
    assert rows[2] == ("J4", "10", None, None, None, "app", "true")  # key first seen on line 6
    assert [r.row_number for r in rejects] == [4, 5, 7]
    assert rejects[0].reason.startswith("invalid JSON: ")
    assert rejects[0].raw == '{"Response ID": "J3", "Score": 3, "Comment": "broken" '
    assert rejects[1] == RawReject(5, '["not", "an", "object"]', "not a JSON object: array")
    assert rejects[2] == RawReject(7, "{}", "empty row")


def test_survey_parquet() -> None:
    reader = open_table(FIXTURES / "survey.parquet")
    assert reader.info.format == "parquet"
    assert reader.info.columns == [
        "Response ID",
        "Submitted At",
        NPS,
        "Weight",
        "Comment",
        "Visited",
        "Recontact",
        "Tags",
    ]
    rows, numbers, rejects = read_all(reader)
    assert numbers == [2, 3, 5]
    assert rows[0] == (
        "P1",
        "2024-03-01 09:15:00",
        "9",
        "1",
        "Brilliant ✨",
        "2024-02-28",
        "true",
        '["a", "b"]',
    )
    assert rows[1] == ("P2", "2024-03-02 00:00:00", "7", "0.25", None, None, "false", "[]")
    assert rows[2] == ("P4", "2024-03-04 12:00:30.500", "10", "2", "ok", "2024-03-01", None, None)
    assert [(r.row_number, r.reason) for r in rejects] == [(4, "empty row")]


def test_survey_csv_gz() -> None:
    reader = open_table(FIXTURES / "survey.csv.gz")
    assert (reader.info.format, reader.info.compression, reader.info.columns) == ("csv", "gzip", SURVEY)
    rows, numbers, _ = read_all(reader)
    assert numbers == [2, 3]
    assert rows == [
        ("G1", "2024-06-01", "9", "Gzipped é", "Leeds", "North"),
        ("G2", "2024-06-02", "1", None, "York", "North"),
    ]


@pytest.mark.parametrize("name", ["survey.xlsx", "survey.parquet"])
def test_gzipped_binary_formats_use_a_temp_copy(name: str, tmp_path: Path) -> None:
    target = tmp_path / (name + ".gz")
    target.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    with open_table(target) as reader:
        assert reader.info.compression == "gzip"
        temp = reader._file
        assert temp != target and temp.exists()
        assert read_all(reader) == read_all(open_table(FIXTURES / name))
    assert not temp.exists()


def test_xlsx_header_cleanup_and_wide_rows(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "wide.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["Score", "Score", None, " Comment "])
        ws.write_row(1, 0, [1, 2.0, "x", "y", "beyond the header"])
    reader = open_table(path)
    assert reader.info.columns == ["Score", "Score_2", "column_3", "Comment", "column_5"]
    assert read_all(reader) == ([("1", "2", "x", "y", "beyond the header")], [2], [])


def test_parquet_without_pyarrow() -> None:
    with mock.patch.dict(sys.modules, {"pyarrow": None, "pyarrow.parquet": None}):
        reader = open_table(FIXTURES / "survey.parquet")
        result = read_all(reader, chunk_rows=3)
    assert result == read_all(open_table(FIXTURES / "survey.parquet"))


# ------------------------------------------------------------------------------ chunks, preview


@pytest.mark.parametrize("name", ALL_FIXTURES)
@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_small_chunks_give_the_same_rows(name: str, chunk_rows: int) -> None:
    whole = read_all(open_table(FIXTURES / name))
    assert read_all(open_table(FIXTURES / name), chunk_rows) == whole
    for chunk in open_table(FIXTURES / name).iter_chunks(chunk_rows):
        assert chunk.frame.height + len(chunk.rejects) <= chunk_rows


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_preview(name: str) -> None:
    reader = open_table(FIXTURES / name)
    rows, _, _ = read_all(reader)
    preview = reader.preview(2)
    assert preview.columns == reader.info.columns and preview.rows() == rows[:2]
    assert reader.preview(100).rows() == rows
    assert read_all(reader)[0] == rows  # a reader can be iterated again after a preview


def test_preview_of_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "empty_body.csv"
    path.write_text("Response ID;Comment\n")
    preview = open_table(path).preview()
    assert preview.columns == ["Response ID", "Comment"] and preview.height == 0
    assert list(open_table(path).iter_chunks()) == []


def test_chunk_rows_must_be_positive() -> None:
    with pytest.raises(ValueError):
        next(open_table(FIXTURES / "ragged.csv").iter_chunks(0))


# ------------------------------------------------------------------------------------- errors


def test_missing_file() -> None:
    with pytest.raises(InputError) as err:
        open_table(FIXTURES / "nope.csv")
    assert err.value.message == "file not found" and err.value.file.endswith("nope.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "export.xyz"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError) as err:
        open_table(path)
    assert err.value.message == (
        "unknown format '.xyz'; use one of csv, tsv, xlsx, jsonl, parquet or pass --format"
    )
    assert err.value.file == str(path)
    assert open_table(path, format="csv").info.columns == ["a", "b"]  # format= overrides
    with pytest.raises(InputError, match="unknown format 'xls'"):
        open_table(path, format="xls")


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.jsonl", "empty.xlsx", "empty.parquet"])
def test_empty_file(name: str, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_table(tmp_path / name)


# mtime=0: a gzip header holds the time, which is in the test's id; pytest-xdist's workers must agree on ids
@pytest.mark.parametrize("content", [b"\n\n  \n", b"\xef\xbb\xbf", gzip.compress(b"", mtime=0)])
def test_blank_csv_is_empty(content: bytes, tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        open_table(tmp_path / "blank.csv")


def test_other_errors(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "survey.xlsx", tmp_path / "really_excel.csv")
    with pytest.raises(InputError, match="looks like a xlsx file"):
        open_table(tmp_path / "really_excel.csv")
    (tmp_path / "array.json").write_text('[\n{"a": 1}\n]\n')
    with pytest.raises(InputError, match="not JSON Lines"):
        open_table(tmp_path / "array.json")
    (tmp_path / "bad.xlsx").write_text("a,b\n")
    with pytest.raises(InputError, match="not an xlsx workbook"):
        open_table(tmp_path / "bad.xlsx")
    (tmp_path / "bad.parquet").write_text("a,b\n")
    with pytest.raises(InputError, match="not a Parquet file"):
        open_table(tmp_path / "bad.parquet")
    packed = gzip.compress(("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(50_000))).encode())
    (tmp_path / "truncated.csv.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="cannot read csv file"):
        read_all(open_table(tmp_path / "truncated.csv.gz"))


def test_formats_and_extensions(tmp_path: Path) -> None:
    assert FORMATS == ("csv", "tsv", "xlsx", "jsonl", "parquet")
    for ext, fmt in [(".txt", "csv"), (".ndjson", "jsonl"), (".json", "jsonl"), (".JSONL.GZ", "jsonl")]:
        path = tmp_path / ("data" + ext)
        data = b'{"a": "1"}\n' if fmt == "jsonl" else b"a\tb\n1\t2\n"
        path.write_bytes(gzip.compress(data) if ext.endswith(".GZ") else data)
        assert open_table(path).info.format == fmt


# -------------------------------------------------------------------------------- CSV details


def write(tmp_path: Path, data: bytes, name: str = "t.csv") -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def test_late_non_utf8_bytes_fall_back_to_cp1252(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers_csv, "_SAMPLE_BYTES", 64)
    body = b"id,comment\n" + b"1,plain ascii\n" * 20 + "2,café ’99\n".encode("cp1252") + "3,naïve\n".encode()
    reader = open_table(write(tmp_path, body))
    assert reader.info.encoding == "utf-8"
    rows, numbers, _ = read_all(reader)
    assert rows[-2:] == [("2", "café ’99"), ("3", "naïve")] and numbers[-1] == 23


def test_stray_cp1252_byte_in_a_utf8_file(tmp_path: Path) -> None:
    body = "id,comment\n1,Crème brûlée\n2,naïve café\n".encode() + "3,it’s\n".encode("cp1252")
    reader = open_table(write(tmp_path, body))
    assert reader.info.encoding == "utf-8"
    assert read_all(reader)[0] == [("1", "Crème brûlée"), ("2", "naïve café"), ("3", "it’s")]


def test_utf16_and_cr_only_line_ends(tmp_path: Path) -> None:
    text = 'Response ID\tComment\r\n1\tgrüß\r\n2\t"two\r\nlines"\r\n'
    reader = open_table(write(tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "unicode.txt"))
    assert (reader.info.encoding, reader.info.delimiter) == ("utf-16", "\t")
    assert read_all(reader)[0] == [("1", "grüß"), ("2", "two\r\nlines")]
    mac = open_table(write(tmp_path, b"a;b\r1;x\r\r2;y\r"))
    assert read_all(mac) == ([("1", "x"), ("2", "y")], [2, 4], [RawReject(3, "", "empty row")])


def test_blank_rows_leading_lines_and_irregular_quotes(tmp_path: Path) -> None:
    data = b'\n\nid,text\n1,ok\n \t, \n2,say "hi" twice\n3,"a" b\n\n\n'
    rows, numbers, rejects = read_all(open_table(write(tmp_path, data)))
    assert numbers == [4, 6, 7]  # the header is record 3
    assert rows == [("1", "ok"), ("2", 'say "hi" twice'), ("3", "a b")]  # csv.reader semantics
    assert rejects == [RawReject(5, " \t, ", "empty row")]


def test_single_column_and_sniffer_fallback(tmp_path: Path) -> None:
    reader = open_table(write(tmp_path, b'Comment\nno delimiter here\n\n""\nlast one\n'))
    assert (reader.info.delimiter, reader.info.columns) == (",", ["Comment"])
    assert read_all(reader) == (
        [("no delimiter here",), ("last one",)],
        [2, 5],
        [RawReject(3, "", "empty row"), RawReject(4, '""', "empty row")],
    )
    pipes = open_table(write(tmp_path, b"a|b|c\n1,5|x;y|z\n2|q|\n"))
    assert pipes.info.delimiter == "|" and read_all(pipes)[0] == [("1,5", "x;y", "z"), ("2", "q", None)]


def test_header_names_are_cleaned(tmp_path: Path) -> None:
    reader = open_table(write(tmp_path, b" Score ,Score,,Score_2,\xef\xbb\xbfId\n1,2,3,4,5\n"))
    assert reader.info.columns == ["Score", "Score_2", "column_3", "Score_2_2", "Id"]


def test_blank_lines_across_chunk_boundaries(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n\n\n3,4\n\n\n\n"
    empty = [RawReject(3, "", "empty row"), RawReject(4, "", "empty row")]
    for chunk_rows in (1, 2, 3, 100):
        assert read_all(open_table(write(tmp_path, data)), chunk_rows) == (
            [("1", "2"), ("3", "4")],
            [2, 5],
            empty,
        )


def test_many_blocks(tmp_path: Path) -> None:
    lines = [b"id,comment,score"] + [b'%d,"line\n%d, ""q""",%d' % (i, i, i % 11) for i in range(30_000)]
    lines[500] = b"bad,row"
    reader = open_table(write(tmp_path, b"\r\n".join(lines)))  # no newline at EOF
    rows, numbers, rejects = read_all(reader, chunk_rows=1_000)
    assert len(rows) == 29_999 and numbers[-1] == 30_001 and 501 not in numbers
    assert rejects == [RawReject(501, "bad,row", "ragged row: 2 fields, header has 3")]
    assert rows[-1] == ("29999", 'line\n29999, "q"', "2")


def test_stray_quote_does_not_derail_blocks(tmp_path: Path) -> None:
    # An unquoted 27" early on flips naive quote parity for the rest of the file; later multi-line
    # quoted fields must still be split exactly as csv.reader splits them, across many blocks.
    lines = [b"id,comment,score", b'1,my 27" screen,5'] + [
        b'%d,"multi\nline, ""%d""",%d' % (i, i, i % 11) if i % 3 else b"%d,plain %d,%d" % (i, i, i % 11)
        for i in range(2, 20_000)
    ]
    path = write(tmp_path, b"\n".join(lines) + b"\n")
    want = list(csv.reader(io.StringIO(path.read_text(), newline="")))[1:]
    rows, numbers, rejects = read_all(open_table(path), chunk_rows=500)  # 64 KB blocks
    assert rejects == [] and numbers == list(range(2, 20_001))
    assert rows == [tuple(r) for r in want] and rows[0] == ("1", 'my 27" screen', "5")


# --------------------------------------------------------------------------------- properties

HEADER_NAME = st.text(st.characters(categories=("L", "N")) | st.just(" "), max_size=8).map(str.strip)
SPECIAL = st.sampled_from([*"ab ,;\t|\"'\n\r", "é", "€", "’", "ß", "\u2028", "😀"])
CELL = st.text(SPECIAL | st.characters(codec="utf-8"), max_size=10)
WS = " \t\r\n\f\v"


def write_table(
    folder: str, header: list[str], rows: list[list[str]], delimiter: str, eol: str, bom: bool
) -> Path:
    # Python's csv only quotes \r and \n when both are in the line terminator: write with "\r\n", then swap.
    lines = []
    for row in [header, *rows]:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(row)
        lines.append(out.getvalue()[:-2] + eol)
    path = Path(folder) / "table.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + "".join(lines).encode("utf-8"))
    return path


def expected(rows: list[list[str]], ncols: int) -> tuple[list[tuple], list[int], list[tuple[int, str]]]:
    """Good rows ("" as None), their numbers and (row number, reason) of the rejects."""
    good, numbers, rejects = [], [], []
    content_rows = [i for i, row in enumerate(rows) if row != []]
    for i, row in enumerate(rows):
        if not any(cell.strip(WS) for cell in row):
            if row or (content_rows and i < content_rows[-1]):  # trailing empty lines are dropped
                rejects.append((i + 2, "empty row"))
        elif len(row) != ncols:
            rejects.append((i + 2, f"ragged row: {len(row)} fields, header has {ncols}"))
        else:
            good.append(tuple(cell or None for cell in row))
            numbers.append(i + 2)
    return good, numbers, rejects


@st.composite
def tables(draw: st.DrawFn, ragged: bool) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(HEADER_NAME.filter(bool), min_size=2, max_size=5, unique=True))
    sizes = st.integers(0, len(header) + 2) if ragged else st.just(len(header))
    rows = draw(st.lists(sizes.flatmap(lambda n: st.lists(CELL, min_size=n, max_size=n)), max_size=8))
    return header, rows


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tables(ragged=False),
    st.sampled_from(",;\t|"),
    st.sampled_from(["\r\n", "\n"]),
    st.booleans(),
    st.integers(1, 4),
)
def test_csv_round_trip(table: tuple, delimiter: str, eol: str, bom: bool, chunk_rows: int) -> None:
    header, rows = table
    with tempfile.TemporaryDirectory() as folder:
        reader = open_table(write_table(folder, header, rows, delimiter, eol, bom))
        assert (reader.info.delimiter, reader.info.columns) == (delimiter, header)
        good, numbers, rejects = read_all(reader, chunk_rows)
    want_good, want_numbers, want_rejects = expected(rows, len(header))
    assert (good, numbers) == (want_good, want_numbers)
    assert [(r.row_number, r.reason) for r in rejects] == want_rejects


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tables(ragged=True), st.sampled_from(",;\t|"), st.sampled_from(["\r\n", "\n", "\r"]), st.integers(1, 4)
)
def test_ragged_rows_and_fast_path_matches_csv_reader(
    table: tuple, delimiter: str, eol: str, chunk_rows: int
) -> None:
    header, rows = table
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(folder, header, rows, delimiter, eol, bom=False)
        result = read_all(open_table(path), chunk_rows)
        with mock.patch.object(readers_csv, "_record_bounds", return_value=None):
            slow = read_all(open_table(path), chunk_rows)
    assert result == slow  # numpy/polars path == csv.reader path, raw text included
    if eol != "\r":  # in CR-only files every CR, even a quoted one, is read as \n
        good, numbers, rejects = result
        assert (good, numbers, [(r.row_number, r.reason) for r in rejects]) == expected(rows, len(header))
        for reject in rejects:
            fields = next(csv.reader(io.StringIO(reject.raw, newline=""), delimiter=delimiter), [])
            assert fields == rows[reject.row_number - 2]


def test_blank_rows_decided_by_first_bytes_or_exact_check(tmp_path: Path) -> None:
    # The fast CSV path only runs the exact blank check on records whose first byte (or the byte after
    # an opening quote) is whitespace, a quote or the delimiter; every other record has content.
    lines = [
        "a,b,c",
        "x,,",  # content first
        " , ,\t",  # blank: whitespace and delimiters
        '" ", ,',  # blank: quoted whitespace
        '"",,""',  # blank: empty quoted cells
        ",,z",  # delimiter first, content later
        ' ,"y",',  # whitespace first, quoted content later
        '"""",,',  # a lone escaped quote is content
        '"q",,',  # quoted content first
        "\u00a0,,",  # a non-ASCII space is content (only ASCII whitespace is blank)
    ]
    path = tmp_path / "blanks.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, numbers, rejects = read_all(open_table(path))
    assert numbers == [2, 6, 7, 8, 9, 10]
    assert rows[0] == ("x", None, None)
    assert rows[3] == ('"', None, None)
    assert [(r.row_number, r.reason) for r in rejects] == [
        (3, "empty row"),
        (4, "empty row"),
        (5, "empty row"),
    ]


def test_empty_cells_quoted_or_not_read_as_null(tmp_path: Path) -> None:
    """The fast path only nullifies quoted empty cells when a block holds `""`: both kinds are None."""
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b,c\n1,,x\n2,y,\n")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b,c\n1,"",x\n2,"say ""hi""",\n')
    assert [c.frame.rows() for c in open_table(plain).iter_chunks()] == [[("1", None, "x"), ("2", "y", None)]]
    assert [c.frame.rows() for c in open_table(quoted).iter_chunks()] == [
        [("1", None, "x"), ("2", 'say "hi"', None)]
    ]
