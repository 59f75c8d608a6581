"""A deterministic zip: fixed timestamps and attributes, entries in the order given, files streamed.

Office files (docx, xlsx) written by their libraries carry the time of writing, in their own zip
entries and in docProps/core.xml; `steady_office_file` rewrites both to a fixed moment, so the same
data always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

CHUNK = 1 << 20
EPOCH = datetime(1980, 1, 1)  # the earliest moment a zip entry can carry
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
# already compressed: deflating them again costs time and saves nothing
STORED_SUFFIXES = frozenset({
    ".pdf", ".jpg", ".jpeg", ".png", ".heic", ".heif", ".gif", ".webp", ".docx", ".xlsx", ".pptx",
    ".ofd", ".zip", ".rar", ".7z", ".gz", ".mp4", ".mov", ".mp3",
})


class PackageError(Exception):
    """The package could not be written (disk full, output folder not writable …)."""


def _local(moment: datetime) -> datetime:
    """The wall-clock time a zip entry carries (it has no time zone), never before 1980."""
    return max(moment.replace(tzinfo=None, microsecond=0), EPOCH)


def _info(name: str, moment: datetime, compress: int, size: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = compress
    info.create_system = 3  # the same bytes whichever system builds it
    info.external_attr = 0o100644 << 16
    info.file_size = size
    return info


class SteadyZip:
    """Writes a zip whose bytes depend only on the entries' names, contents and one moment."""

    def __init__(self, path: Path, moment: datetime) -> None:
        self.moment = _local(moment)
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)

    def add_bytes(self, name: str, data: bytes) -> None:
        """A small generated entry (the docx, the list, the report), deflated."""
        self._zip.writestr(_info(name, self.moment, zipfile.ZIP_DEFLATED, len(data)), data)

    def add_file(self, name: str, source: Path, size: int) -> str:
        """Stream a file into the zip in 1 MB chunks; returns its sha256 as read."""
        suffix = Path(name).suffix.lower()
        compress = zipfile.ZIP_STORED if suffix in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        with source.open("rb") as src, self._zip.open(_info(name, self.moment, compress, size), "w", force_zip64=size > 0x7FFF0000) as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        """Write the central directory."""
        self._zip.close()


def steady_office_file(data: bytes, moment: datetime) -> bytes:
    """The same .docx/.xlsx with every entry and docProps/core.xml stamped with `moment` (aware)."""
    stamp = _local(moment)
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    iso = max(utc.replace(tzinfo=None, microsecond=0), EPOCH).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "docProps/core.xml":
                body = _CORE_TIMES.sub(lambda m: m.group(1) + iso + m.group(3), body)
            dst.writestr(_info(item.filename, stamp, zipfile.ZIP_DEFLATED, len(body)), body)
    return out.getvalue()
