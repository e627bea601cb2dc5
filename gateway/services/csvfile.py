"""Reading operators' CSV files with errors that name the line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from gateway.domain.errors import BadImportFile


def read_rows(path: Path, required: tuple[str, ...],
              optional: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)``; the header must hold every required column.

    Raises:
        BadImportFile: unreadable file, bad encoding, wrong header, ragged row.
    """
    try:
        # Bytes that are not UTF-8 are decoded as lone surrogates and refused
        # row by row below, so the message names their line: a strict decoder
        # fails on a whole read-ahead buffer, reported as the header's line.
        handle = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise BadImportFile(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
            _check_text(path, 1, header)
        except StopIteration:
            raise BadImportFile(f"{path}: empty file (expected header {','.join(required)})") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadImportFile(f"{path}: line 1: {exc}") from None
        missing = [c for c in required if c not in header]
        unknown = [c for c in header if c not in required and c not in optional]
        if missing or unknown or len(set(header)) != len(header):
            raise BadImportFile(
                f"{path}: line 1: header must be {','.join(required)}"
                + (f" (optional: {','.join(optional)})" if optional else "")
                + (f"; missing {','.join(missing)}" if missing else "")
                + (f"; unknown {','.join(unknown)}" if unknown else "")
            )
        try:
            for values in reader:
                line = reader.line_num
                if not values or values == [""]:
                    continue
                _check_text(path, line, values)
                if len(values) != len(header):
                    raise BadImportFile(f"{path}: line {line}: expected {len(header)} fields, got {len(values)}")
                yield line, dict(zip(header, (v.strip() for v in values), strict=True))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadImportFile(f"{path}: line {reader.line_num + 1}: {exc}") from None


def _check_text(path: Path, line: int, values: list[str]) -> None:
    joined = "".join(values)
    if joined.isascii():
        return
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        raise BadImportFile(f"{path}: line {line}: not UTF-8 text") from None
