"""Files keel reads from a user: one reader for CSV, JSONL, Parquet and .txt input, and one
field-mapping type (`Fields`). `keel._files` holds the other direction, the files keel writes.

- `detect_format`: the format from the file's suffix, or from an explicit `--format`.
- `read_rows`: the rows of a CSV, JSONL or Parquet file, each with its line (text formats) or
  row number (Parquet) for error messages (`where`). JSON goes through
  `keel.records.parse_json`, so a number keel could not log exactly as written is refused,
  never rounded; a CSV cell is text, a Parquet cell its typed value; empty cells are left out.
- `read_table`: the same files as a pyarrow table, for readers that work a column at a time
  (judge verdict tables). Format detection, error messages and the duplicate-column check are
  the same as `read_rows`'.
- `text_rows` / `read_texts`: texts, one per non-blank line of a .txt file (surrounding
  whitespace stripped: in a text file it is layout, not content) or the string in a column of
  each row of a CSV, JSONL or Parquet file; `read_corpus` adds a folder of such files and the
  `fortunes` corpus.
- `hf_shards` / `read_hf_rows`: a Hugging Face dataset on disk, read a batch at a time: a
  `save_to_disk` folder (its Arrow IPC stream files, in the order its state.json lists them;
  pyarrow reads them, the `datasets` package is not needed), Parquet shards (a folder's
  `.parquet` files or a glob's matches, in name order), or one `.arrow` or `.parquet` file.
  Cells read as a Parquet file's do; each row's place is `shard:row N`.
- `Fields`: which column holds each role (record text, human label, judge...), from the
  reader's defaults and the user's `role=column` choices; a column the user named must exist.

Every refusal is an `InputError` that names the file and, where there is one, the line or row:
a missing file, a format keel cannot tell, bytes that are not UTF-8, malformed CSV or JSON, a
column named twice, a mapped column the file lacks. pyarrow (and numpy, for the fortunes) is
imported inside the functions that need it: commands that read no table start faster.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import orjson

from keel.errors import InputError
from keel.records import parse_json

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["jsonl", "csv", "parquet", "txt"]
ROW_FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
"""Formats whose records are rows of named columns."""
FORMATS: tuple[Format, ...] = (*ROW_FORMATS, "txt")
SUFFIXES: Mapping[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt",
}
FOLDER_SUFFIXES = (".txt", ".jsonl", ".csv", ".parquet")
"""The files of a folder of texts that are read (others, such as a report, are left alone)."""
Row = tuple[int, int, dict[str, object]]
"""(line or row number, bytes the row took in the file (0 where unknown), the row)."""
PlacedRow = tuple[str, int, dict[str, object]]
"""(the row's place for messages, `file:row N`; bytes it took in its file, 0 where unknown; the
row)."""
ShardFormat = Literal["arrow", "parquet"]
HF_BATCH = 8192
"""Rows turned into Python values at a time when reading a Hugging Face dataset."""


# -- formats ---------------------------------------------------------------------------------
def detect_format(
    path: Path,
    fmt: str | None = None,
    *,
    formats: Sequence[Format] = FORMATS,
    option: str | None = "--format",
) -> Format:
    """The format of `path`: `fmt` when given, else from the suffix; it must be one of
    `formats`. `option` names the command-line override in messages (None: there is none)."""
    names = ", ".join(formats)
    if fmt is not None:
        if fmt not in formats:
            raise InputError(f"{option or 'the format'} must be one of {names}, got {fmt!r}")
        return cast(Format, fmt)
    found = SUFFIXES.get(path.suffix.lower())
    if found is None or found not in formats:
        suffixes = ", ".join(s for s, f in SUFFIXES.items() if f in formats)
        fix = f"name it {suffixes}" + (f" or pass {option}" if option else "")
        what = f"a {found} file" if found else "cannot tell the format from its suffix"
        raise InputError(f"{path}: {what}; this reads {names}: {fix}")
    return found


def where(path: Path, fmt: Format, number: int) -> str:
    """The place of row `number` for messages: `file:line`, or `file:row N` for Parquet."""
    return f"{path}:row {number}" if fmt == "parquet" else f"{path}:{number}"


def _opened(path: Path) -> io.BufferedReader:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a folder: give a file") from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc


def _not_utf8(path: Path, lineno: int, exc: UnicodeDecodeError) -> InputError:
    return _not_utf8_at(f"{path}:{lineno}", exc)


def _not_utf8_at(place: str, exc: UnicodeDecodeError) -> InputError:
    return InputError(
        f"{place}: not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line); "
        "save the file as UTF-8"
    )


def _find_not_utf8(path: Path) -> InputError | None:
    """The first line of `path` that is not UTF-8, as the error to raise; None if all are.

    A line is decoded on its own: a newline byte is never part of a multi-byte sequence."""
    with _opened(path) as f:
        for lineno, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return _not_utf8(path, lineno, exc)
    return None


def _unique(names: Sequence[str], where_: str) -> None:
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        first = seen.setdefault(name, k)
        if first != k:
            raise InputError(
                f"{where_}: columns {first + 1} and {k + 1} are both named {name!r}; rename one"
            )


# -- rows ------------------------------------------------------------------------------------
def read_rows(path: Path, fmt: str | None = None) -> Iterator[Row]:
    """Every row of a CSV, JSONL or Parquet file (the module docstring says how cells read)."""
    kind = detect_format(path, fmt, formats=ROW_FORMATS)
    if kind == "jsonl":
        return _jsonl_rows(path)
    if kind == "csv":
        return _csv_rows(path)
    return _parquet_rows(path)


def _jsonl_rows(path: Path) -> Iterator[Row]:
    """One JSON object per non-blank line; a UTF-8 byte order mark at the start is skipped."""
    for lineno, line in jsonl_lines(path):
        yield lineno, len(line), jsonl_row(line, f"{path}:{lineno}")


def jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of a JSONL file with their numbers, unparsed (a UTF-8 byte order
    mark at the start is skipped): `jsonl_row` parses each, here or in an executor's worker."""
    with _opened(path) as f:
        if f.peek(len(codecs.BOM_UTF8)).startswith(codecs.BOM_UTF8):
            f.read(len(codecs.BOM_UTF8))
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield lineno, line


def jsonl_row(line: bytes, place: str) -> dict[str, object]:
    """The JSON object on one line of a JSONL file; errors name `place` (`file:line`)."""
    try:
        row: object = parse_json(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise _not_utf8_at(place, bad) from exc
        raise InputError(f"{place}: not valid JSON: {exc}") from exc
    except InputError as exc:
        raise InputError(f"{place}: {exc}") from exc
    if not isinstance(row, dict):
        raise InputError(f"{place}: expected a JSON object, got {type(row).__name__}")
    return row


def _csv_rows(path: Path) -> Iterator[Row]:
    """Rows under the header line; the line number is the row's last line in the file."""
    with _opened(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        try:
            _unique(reader.fieldnames or [], f"{path}:1")
            for row in reader:
                if None in row:
                    raise InputError(f"{path}:{reader.line_num}: more values than header columns")
                yield reader.line_num, 0, {k: v for k, v in row.items() if v not in (None, "")}
        except UnicodeDecodeError as exc:
            raise (_find_not_utf8(path) or _not_utf8(path, reader.line_num + 1, exc)) from exc
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        _opened(path).close()  # the error that says why
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        _unique(names, str(path))
        n = 0
        for batch in pf.iter_batches(batch_size=8192):
            columns = [
                _pylist(column, name, path, n)
                for name, column in zip(names, batch.columns, strict=True)
            ]
            for values in zip(*columns, strict=True):
                n += 1
                yield n, 0, {k: v for k, v in zip(names, values, strict=True) if v is not None}
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc


def _pylist(column: Any, name: str, path: Path, before: int) -> list[object]:
    """The Python values of a Parquet or Arrow column; a string that is not UTF-8, or a value
    Python cannot hold (a date beyond year 9999), is named by its row."""
    try:
        return cast(list[object], column.to_pylist())
    except (ValueError, OverflowError) as whole:
        for i in range(len(column)):
            try:
                column[i].as_py()
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}:row {before + i + 1}: column {name!r} is not UTF-8: {exc.reason}"
                ) from exc
            except (ValueError, OverflowError) as exc:
                raise InputError(
                    f"{path}:row {before + i + 1}: column {name!r} holds a value keel cannot "
                    f"read ({exc})"
                ) from exc
        raise InputError(f"{path}: column {name!r} cannot be read: {whole}") from whole


# -- Hugging Face datasets on disk -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Shards:
    """A Hugging Face dataset on disk, as `hf_shards` found it: its shard files in reading
    order and their format (`arrow`: Arrow IPC stream files, what `save_to_disk` writes)."""

    source: str
    format: ShardFormat
    files: tuple[Path, ...]

    @property
    def size(self) -> int:
        """The shards' total size in bytes."""
        return sum(f.stat().st_size for f in self.files)


_PARQUET_SUFFIXES = (".parquet", ".pq")


def hf_shards(source: str | Path) -> Shards:
    """The shards of the dataset at `source`: a `save_to_disk` folder (the files its state.json
    lists, in that order), a folder of `.parquet` files or a glob of them (name order), or one
    `.arrow` or `.parquet` file. Refuses a DatasetDict folder (name a split's folder) and
    anything else, saying what it reads."""
    text = str(source)
    path = Path(source)
    if path.is_dir():
        if (path / "state.json").exists():
            return Shards(text, "arrow", _state_files(path))
        if (path / "dataset_dict.json").exists():
            splits = sorted(p.name for p in path.iterdir() if (p / "state.json").is_file())
            example = path / splits[0] if splits else path / "train"
            raise InputError(
                f"{path} holds a DatasetDict (splits: {', '.join(splits) or 'none found'}): "
                f"give one split's folder, e.g. --hf {example}"
            )
        found = sorted(
            p for p in path.iterdir() if p.suffix.lower() in _PARQUET_SUFFIXES and p.is_file()
        )
        if not found:
            raise InputError(
                f"{path}: not a save_to_disk folder (no state.json) and no .parquet files in it; "
                f"for shards in subfolders give a glob, e.g. --hf '{path}/**/*.parquet'"
            )
        return Shards(text, "parquet", tuple(found))
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".arrow":
            return Shards(text, "arrow", (path,))
        if suffix in _PARQUET_SUFFIXES:
            return Shards(text, "parquet", (path,))
        raise InputError(
            f"{path}: --hf reads a save_to_disk folder, Parquet shards or an .arrow file; "
            "ingest a .jsonl or .csv file as FILE, without --hf"
        )
    if glob.has_magic(text):
        matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
        files = tuple(m for m in matches if m.is_file())
        if not files:
            raise InputError(f"{text}: no file matches this pattern")
        other = next((f for f in files if f.suffix.lower() not in _PARQUET_SUFFIXES), None)
        if other is not None:
            raise InputError(
                f"{text} matches {other}, not a .parquet file: a pattern names Parquet shards; "
                "narrow it, e.g. to *.parquet"
            )
        return Shards(text, "parquet", files)
    raise InputError(f"{path}: no such file or folder")


def _state_files(folder: Path) -> tuple[Path, ...]:
    """The Arrow files a `save_to_disk` folder's state.json lists (`_data_files`), in order;
    each must be a file name in the folder."""
    state = folder / "state.json"
    try:
        value = orjson.loads(state.read_bytes())
    except OSError as exc:
        raise InputError(f"{state}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"{state}: not valid JSON ({exc}); is this a save_to_disk folder?"
        ) from exc
    listed = value.get("_data_files") if isinstance(value, dict) else None
    if not isinstance(listed, list):
        raise InputError(
            f'{state}: no "_data_files" list of shards; save the dataset again with '
            "Dataset.save_to_disk"
        )
    files = []
    for item in listed:
        name = item.get("filename") if isinstance(item, dict) else None
        if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
            raise InputError(
                f'{state}: "_data_files" holds {item!r}; each entry must be '
                '{"filename": NAME} with NAME a file in this folder'
            )
        file = folder / name
        if not file.is_file():
            raise InputError(
                f"{state} lists {name}, which is not in {folder}: copy the whole folder that "
                "save_to_disk wrote"
            )
        files.append(file)
    return tuple(files)


def read_hf_rows(shards: Shards) -> Iterator[PlacedRow]:
    """Every row of the shards, in order, `HF_BATCH` rows at a time (memory stays bounded);
    cells read as `read_rows` reads Parquet's, and each row's place is `shard:row N`. Each
    Arrow batch is validated in full before any value is read from it."""
    import pyarrow as pa

    batches = _arrow_batches if shards.format == "arrow" else _parquet_batches
    for path in shards.files:
        n = 0
        try:
            for batch, nbytes in batches(path):
                try:
                    names = batch.schema.names
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"{path}: a column name is not UTF-8 ({exc.reason}); save the data again"
                    ) from exc
                _unique(names, str(path))
                taken = nbytes  # the batch's bytes, counted at its first row
                for start in range(0, batch.num_rows, HF_BATCH):
                    part = batch.slice(start, HF_BATCH)
                    columns = [
                        _pylist(column, name, path, n)
                        for name, column in zip(names, part.columns, strict=True)
                    ]
                    rows = zip(*columns, strict=True) if columns else [()] * part.num_rows
                    for values in rows:
                        n += 1
                        yield (
                            f"{path}:row {n}",
                            taken,
                            {k: v for k, v in zip(names, values, strict=True) if v is not None},
                        )
                        taken = 0
        except (pa.ArrowException, OSError) as exc:
            what = "Arrow stream" if shards.format == "arrow" else "Parquet"
            raise InputError(f"{path}: not a readable {what} file: {exc}") from exc


def _arrow_batches(path: Path) -> Iterator[tuple[Any, int]]:
    """The record batches of an Arrow IPC stream file, each validated, with the bytes it took."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        before = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            batch.validate(full=True)
            now = source.tell()
            yield batch, now - before
            before = now


def _parquet_batches(path: Path) -> Iterator[tuple[Any, int]]:
    """The record batches of a Parquet file, with their share of the file's bytes."""
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with pq.ParquetFile(path) as pf:
        rows = max(pf.metadata.num_rows, 1)
        for batch in pf.iter_batches(batch_size=HF_BATCH):
            yield batch, size * batch.num_rows // rows


# -- tables ----------------------------------------------------------------------------------
def read_table(path: Path, fmt: str | None = None, *, option: str | None = None) -> pa.Table:
    """A CSV, JSONL or Parquet file as a pyarrow table. CSV cells are typed by pyarrow's
    inference; a JSONL column of mixed types, arrays or objects is read as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    kind = detect_format(path, fmt, formats=ROW_FORMATS, option=option)
    if kind == "jsonl":
        table = _jsonl_table(path)
        _unique(table.column_names, str(path))
        return table
    _opened(path).close()
    try:
        if kind == "csv":
            opts = pacsv.ParseOptions(newlines_in_values=True)
            table = pacsv.read_csv(path, parse_options=opts)
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        bad = _find_not_utf8(path) if kind == "csv" else None
        raise (bad or InputError(f"{path}: cannot read it as {kind}: {exc}")) from exc
    head = f"{path}:1" if kind == "csv" else str(path)
    try:
        names = table.column_names
    except UnicodeDecodeError as exc:  # pyarrow reads the names' bytes as they are
        raise InputError(
            f"{head}: a column name is not UTF-8 ({exc.reason}); save the file as UTF-8"
        ) from exc
    _unique(names, head)
    return table


def _jsonl_table(path: Path) -> pa.Table:
    import pyarrow as pa

    rows = [row for _, _, row in _jsonl_rows(path)]
    names = dict.fromkeys(key for row in rows for key in row)
    arrays = {}
    for key in names:
        values = [row.get(key) for row in rows]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = None
        if array is None or pa.types.is_nested(array.type):
            array = pa.array([None if v is None else str(v) for v in values])
        arrays[key] = array
    return pa.table(arrays) if arrays else pa.table({})


# -- texts -----------------------------------------------------------------------------------
def text_rows(
    path: Path, fmt: str | None = None, *, column: str = "text"
) -> Iterator[tuple[str, Mapping[str, object]]]:
    """(text, its row) for every text of a file: a .txt file's non-blank lines (with empty
    rows), or the string in `column` of each row of a CSV, JSONL or Parquet file."""
    kind = detect_format(path, fmt)
    if kind == "txt":
        for line in _lines(path):
            yield line, {}
        return
    for n, _, row in read_rows(path, kind):
        text = row.get(column)
        if not isinstance(text, str):
            state = "missing" if text is None else f"a {type(text).__name__}, not a string"
            raise InputError(f"{where(path, kind, n)}: the text column {column!r} is {state}")
        yield text, row


def _lines(path: Path) -> list[str]:
    with _opened(path) as f:
        try:
            raw = f.read()
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise cast(InputError, _find_not_utf8(path)) from exc
    return [s for line in text.splitlines() if (s := line.strip())]


def read_texts(path: Path, fmt: str | None = None, *, column: str = "text") -> list[str]:
    """The texts of a file (`text_rows`)."""
    return [text for text, _ in text_rows(path, fmt, column=column)]


def folder_files(path: Path) -> list[Path]:
    """The text files of a folder (`FOLDER_SUFFIXES`), in name order; at least one."""
    found = sorted(f for f in path.iterdir() if f.suffix.lower() in FOLDER_SUFFIXES)
    if not found:
        raise InputError(f"{path}: no {', '.join(FOLDER_SUFFIXES)} files in this folder")
    return found


def read_corpus(source: str | Path, *, column: str = "text") -> list[str]:
    """Texts from `fortunes` (the FreeBSD collections, `keel.text.load_fortunes`), a folder
    (every file of `folder_files`, in name order) or a file (`read_texts`)."""
    if str(source) == "fortunes":
        from keel.text import load_fortunes

        return load_fortunes()
    path = Path(source)
    if path.is_dir():
        return [t for f in folder_files(path) for t in read_texts(f, column=column)]
    if not path.exists():
        raise InputError(f"{path}: no such file or folder (or give 'fortunes')")
    return read_texts(path, column=column)


# -- field mapping ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Fields:
    """Which column holds each role of a file: role -> column names (one for most roles;
    several for a composite item id or a list of judge columns; none: the role is unused).

    A reader declares its roles with their defaults (`Fields.of`); the user's choices go over
    them (`map`, `parse`). A role the user named is in `given`: its columns must exist
    (`check`); a role left at its default is used only when the file has that column.
    `option` shows how the user names a role, for messages (`{role}` and `{column}` filled in).
    """

    columns: Mapping[str, tuple[str, ...]]
    given: frozenset[str] = frozenset()
    option: str = "{role}={column}"

    @classmethod
    def of(cls, **defaults: str | tuple[str, ...] | None) -> Fields:
        """The roles a reader knows, each with its default column(s) (None: unused unless
        given)."""
        return cls({role: _names(value) for role, value in defaults.items()})

    def map(self, **given: str | Sequence[str] | None) -> Fields:
        """These fields with the user's columns over the defaults (None: keep the default)."""
        chosen = {role: _names(value) for role, value in given.items() if value}
        unknown = sorted(set(chosen) - set(self.columns))
        if unknown:
            raise InputError(
                f"unknown role {unknown[0]!r}: roles are {', '.join(sorted(self.columns))}"
            )
        return Fields({**self.columns, **chosen}, self.given | set(chosen), self.option)

    def parse(self, pairs: Iterable[str], *, option: str = "--field") -> Fields:
        """These fields with `role=column` strings over the defaults (a repeatable option)."""
        chosen: dict[str, str] = {}
        for pair in pairs:
            role, sep, column = pair.partition("=")
            if not sep or role not in self.columns or not column:
                raise InputError(
                    f"{option} {pair!r}: expected ROLE=COLUMN, "
                    f"ROLE one of {', '.join(sorted(self.columns))}"
                )
            if role in chosen:
                raise InputError(f"{option} {role}=... is given twice; give each role once")
            chosen[role] = column
        mapped = self.map(**chosen)
        return Fields(mapped.columns, mapped.given, f"{option} {{role}}={{column}}")

    def get(self, role: str) -> str | None:
        """The column of a one-column role; None when the role is unused."""
        names = self.columns[role]
        return names[0] if names else None

    def __getitem__(self, role: str) -> str:
        """The column of a one-column role that always has one."""
        column = self.get(role)
        if column is None:
            raise KeyError(role)
        return column

    def names(self, role: str) -> tuple[str, ...]:
        """Every column of a role (none, one, or several)."""
        return self.columns[role]

    def check(
        self,
        found: Collection[str],
        where_: str,
        *,
        need: Iterable[str] = (),
        absent: str = "no column",
    ) -> None:
        """Refuse a file without a column of a role the user named, or of a role in `need`,
        naming the role, the column and the columns found."""
        for role in [*sorted(self.given), *need]:
            for column in self.columns[role]:
                if column not in found:
                    told = self.option.format(role=role, column=column)
                    raise InputError(
                        f"{where_}: {absent} {column!r} ({told}); "
                        f"columns found: {', '.join(found) or 'none'}"
                    )


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


__all__ = [
    "FOLDER_SUFFIXES",
    "FORMATS",
    "ROW_FORMATS",
    "SUFFIXES",
    "Fields",
    "Format",
    "PlacedRow",
    "Row",
    "Shards",
    "detect_format",
    "folder_files",
    "hf_shards",
    "jsonl_lines",
    "jsonl_row",
    "read_corpus",
    "read_hf_rows",
    "read_rows",
    "read_table",
    "read_texts",
    "text_rows",
    "where",
]
