"""Evidence files as bytes: receive a stream safely, tell its type by content, neutralise its name.

Receiving writes the chunks to a temporary file in the store's spool directory (same file system
as the store), hashing and counting as they arrive, so an oversize file is refused after at most
`limit` bytes and never held in memory. Storing is fsync, then an atomic rename into the
content-addressed place, then an fsync of the directory; the database row is written after, so a
crash leaves at worst a stored file without a row (listed as 未登记材料), never a row without a file.

Types are allowed by content (magic bytes), never by name:

- pdf (`%PDF-`), jpg, png, heic/heif (ISO-BMFF `ftyp` with a HEIF brand);
- OLE2 compound files (doc, xls, and WPS Office's wps/et, which are OLE2 with the same
  `WordDocument` / `Workbook` streams) only when such a stream is named in the file: an MSI
  installer is OLE2 too, and it has neither;
- zip: docx/xlsx (`[Content_Types].xml` with `word/` or `xl/`; WPS saves these too), ofd (`OFD.xml`),
  otherwise an archive; zip, rar and 7z archives are stored as they are and never unpacked (the
  issue asks for it: departments send folders of scans zipped). Only the zip's central directory is
  read, never a member, so a zip bomb costs nothing; the size limit applies to the bytes received.
  A zip that is an Android or Java program (AndroidManifest.xml, classes.dex, META-INF/MANIFEST.MF)
  is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from handlers.core import Attachment

NAME_LIMIT = 100  # characters of a stored name (the extension kept)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_SHEET_STREAMS = ("Workbook".encode("utf-16-le"), "Book\x00".encode("utf-16-le"))
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_PROGRAM_MEMBERS = {"androidmanifest.xml", "classes.dex", "meta-inf/manifest.mf"}
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff<>:"|?*]')


class EvidenceRefused(Exception):
    """A file is not accepted; the message is the one Chinese line shown to the sender."""


@dataclass(frozen=True)
class FileType:
    """A content type the store accepts: its media type, label and the extensions it goes by."""

    media_type: str
    label: str
    extensions: tuple[str, ...]
    archive: bool = False


PDF = FileType("application/pdf", "PDF", (".pdf",))
DOC = FileType("application/msword", "Word 文档", (".doc", ".wps", ".dot"))
XLS = FileType("application/vnd.ms-excel", "Excel 表格", (".xls", ".et"))
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档",
    (".docx", ".wps", ".docm"),
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格",
    (".xlsx", ".et", ".xlsm"),
)
OFD = FileType("application/ofd", "OFD 版式文件", (".ofd",))
JPEG = FileType("image/jpeg", "照片", (".jpg", ".jpeg"))
PNG = FileType("image/png", "图片", (".png",))
HEIC = FileType("image/heic", "照片", (".heic", ".heif"))
ZIP = FileType("application/zip", "压缩包", (".zip",), archive=True)
RAR = FileType("application/vnd.rar", "压缩包", (".rar",), archive=True)
SEVEN_Z = FileType("application/x-7z-compressed", "压缩包", (".7z",), archive=True)
ALLOWED = "PDF、Word/WPS、Excel/ET、OFD、JPG/PNG/HEIC 照片或 zip/rar/7z 压缩包"


@dataclass(frozen=True)
class Received:
    """A file received into the spool: where, how big, its sha256 (not yet stored)."""

    temp: Path
    size: int
    sha256: str


async def receive(attachment: Attachment, spool: Path, limit: int) -> Received:
    """Write the attachment's bytes to a temporary file, hashing; refuse past `limit` bytes.

    Raises EvidenceRefused (nothing left behind) for an oversize or truncated file; a channel's
    AttachmentUnavailable or OSError pass through, also leaving nothing behind.
    """
    if attachment.size is not None and attachment.size > limit:
        raise EvidenceRefused(too_large(limit))
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool, prefix="in-", suffix=".part")
    temp = Path(name)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in attachment.chunks():
                size += len(chunk)
                if size > limit:
                    raise EvidenceRefused(too_large(limit))
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if attachment.size is not None and size != attachment.size:
            raise EvidenceRefused(f"文件没有收全（{size}/{attachment.size} 字节），请重新发送。")
        if size == 0:
            raise EvidenceRefused("文件是空的，请重新发送。")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Received(temp, size, digest.hexdigest())


def too_large(limit: int) -> str:
    """The refusal for a file over the limit."""
    return f"文件超过 {limit // (1024 * 1024)} MB，未收下。请压缩或拆分后再发。"


def store(received: Received, final: Path) -> bool:
    """Move a received file to its content-addressed place (fsync, rename, fsync dir).

    False when a file with the same content was already stored (the temporary file is dropped).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and final.stat().st_size == received.size:
        received.temp.unlink(missing_ok=True)
        return False
    os.replace(received.temp, final)
    _fsync_dir(final.parent)
    return True


def discard(received: Received) -> None:
    """Drop a received file that is refused."""
    received.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def detect(path: Path) -> FileType:
    """The file's type from its content; EvidenceRefused (with the reason) when not allowed."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    if head.startswith(_OLE2):
        return _ole2(path)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(path)
    if head.startswith(b"Rar!\x1a\x07"):
        return RAR
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVEN_Z
    raise EvidenceRefused(f"{_what(head)}，不能作为证实性材料。可发送{ALLOWED}。")


def _what(head: bytes) -> str:
    if head.startswith((b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")):
        return "这是可执行程序"
    return "无法识别文件类型（按内容检查，不看扩展名）"


def _ole2(path: Path) -> FileType:
    """doc/wps or xls/et by the stream named in the compound file's directory (read in chunks)."""
    overlap = max(len(_WORD_STREAM), *(len(s) for s in _SHEET_STREAMS))
    found: set[str] = set()
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            window = tail + chunk
            if _WORD_STREAM in window:
                found.add("word")
            if any(stream in window for stream in _SHEET_STREAMS):
                found.add("sheet")
            tail = window[-overlap:]
    if "word" in found:
        return DOC
    if "sheet" in found:
        return XLS
    raise EvidenceRefused(f"这个 Office 复合文件不是文档或表格（可能是安装程序），未收下。可发送{ALLOWED}。")


def _zip(path: Path) -> FileType:
    """docx, xlsx, ofd or a plain archive, from the central directory only (nothing is extracted)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise EvidenceRefused("压缩文件已损坏，未收下。请重新压缩后再发。") from None
    lowered = {n.lower() for n in names}
    if lowered & _PROGRAM_MEMBERS:
        raise EvidenceRefused("这是应用程序安装包，不能作为证实性材料。")
    if "[content_types].xml" in lowered:
        if any(n.startswith("word/") for n in lowered):
            return DOCX
        if any(n.startswith("xl/") for n in lowered):
            return XLSX
    if "ofd.xml" in lowered:
        return OFD
    return ZIP


def neutral_name(name: str, kind: FileType, fallback: str = "材料") -> str:
    """A safe display and storage name: the last path part, no controls, bounded, a fitting extension.

    `../../x.pdf` → `x.pdf`; `a\\b\\c.doc` → `c.doc`; NUL and other controls removed; leading dots
    dropped (no hidden files, no `..`); an extension that does not match the content gets the right one.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_NAME.sub("", text).strip().lstrip(".").strip()
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    suffix = f".{ext.lower()}" if ext else ""
    if suffix not in kind.extensions:
        stem, suffix = (text if text else ""), kind.extensions[0]
    stem = stem.strip() or fallback
    return stem[: NAME_LIMIT - len(suffix)] + suffix


def rename(current: str, wanted: str, kind_extension: str) -> str:
    """A new name a liaison chose, neutralised, keeping the file's extension when they left it off."""
    text = unicodedata.normalize("NFC", wanted).replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_NAME.sub("", text).strip().lstrip(".").strip()
    if not text:
        return current
    if not text.lower().endswith(kind_extension.lower()):
        text = text[: NAME_LIMIT - len(kind_extension)] + kind_extension
    return text[-NAME_LIMIT:] if len(text) > NAME_LIMIT else text
