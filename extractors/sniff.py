"""Tell a file's type from its bytes (never from its name) and refuse what we cannot read.

``sniff(data, filename, size_limit_bytes)`` returns the content kind (``"pdf"`` / ``"docx"`` when the
file can go to a backend, ``"doc"`` / ``"rtf"`` / ``"html"`` / ``"wordxml"`` when it can be converted to
docx first, something else
otherwise) and the intake findings raised on the way: FILE_CORRUPT, FILE_ENCRYPTED, FILE_TOO_LARGE,
FILE_UNSUPPORTED_TYPE, FILE_TYPE_MISMATCH.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field

from formintake.extractors.docx import main_part_name
from formintake.models import Evidence, Finding
from formintake.findings import make_finding

READABLE = ("pdf", "docx", "image")  # images: JPEG / PNG / TIFF scans and photos, read by OCR
# legacy word-processor files, to docx with LibreOffice (extractors.convert): Word 97-2003 / WPS 文字, RTF,
# a web page saved as .doc (Word's 另存为网页, a web system's 导出Word), Word 2003 XML
CONVERTIBLE = ("doc", "rtf", "html", "wordxml")
OCR_IMAGES = ("PNG", "JPEG", "TIFF")

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
# what an extension promises
_EXT_KIND = {
    ".pdf": "pdf",
    ".docx": "docx", ".docm": "docx", ".dotx": "docx",
    ".doc": "doc", ".wps": "doc", ".dot": "doc", ".rtf": "rtf", ".htm": "html", ".html": "html",
    ".xlsx": "zip", ".xls": "ole", ".pptx": "zip", ".zip": "zip",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".tif": "image",
    ".tiff": "image", ".bmp": "image",
}
_KIND_ZH = {"pdf": "PDF", "docx": "Word (docx)", "ole": "旧版Office/WPS或加密文档", "zip": "压缩包/其他Office文件",
            "image": "图片", "doc": "旧版Word(.doc)/WPS文字", "rtf": "RTF", "html": "网页(HTML)",
            "wordxml": "Word 2003 XML文档"}
_FILE = Evidence(method="file")


@dataclass
class Sniffed:
    kind: str  # "pdf" | "docx" | "ole" | "zip" | "image" | "empty" | "unknown" | ...
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    # a docx: the zip as opened here and its main document part, handed to the docx backend so the
    # package is opened and its relationships read once per file
    package: tuple[zipfile.ZipFile, str] | None = None

    @property
    def readable(self) -> bool:
        return self.kind in READABLE and not any(f.severity == "error" for f in self.findings)

    @property
    def convertible(self) -> bool:
        return self.kind in CONVERTIBLE and not any(f.severity == "error" for f in self.findings)


def _f(code: str, message: str, **kw) -> Finding:
    return make_finding(code, message=message, evidence=_FILE, **kw)


def sniff(data: bytes, filename: str = "", size_limit_bytes: int = 50 * 2**20) -> Sniffed:
    size = len(data)
    if size == 0:
        return Sniffed("empty", [_f("FILE_CORRUPT", "文件为空（0字节），上传可能未完成", message_en="empty file")])
    if size > size_limit_bytes:
        return Sniffed("unknown", [_f(
            "FILE_TOO_LARGE", f"文件大小{size / 2**20:.1f}MB，超过限制{size_limit_bytes / 2**20:.0f}MB",
            value=size, expected=f"≤{size_limit_bytes}字节", message_en="file larger than the size limit")])

    package = None
    if data.startswith(_ZIP_MAGIC):  # (a PDF never starts with PK: _content_kind's order is kept)
        kind, detail, findings, package = _zip_kind(data, size_limit_bytes)
    else:
        kind, detail, findings = _content_kind(data, size_limit_bytes)
    ext = os.path.splitext(filename or "")[1].lower()
    promised = _EXT_KIND.get(ext)
    if kind in READABLE + CONVERTIBLE and promised is not None and promised != kind and not findings:
        findings.append(_f(
            "FILE_TYPE_MISMATCH",
            f"文件扩展名为“{ext}”，实际内容为{_KIND_ZH[kind]}，已按实际内容读取",
            value=ext, expected=_KIND_ZH[kind], message_en=f"extension {ext} but content is {kind}"))
    return Sniffed(kind, findings, detail, package if kind == "docx" and not findings else None)


def _content_kind(data: bytes, limit: int) -> tuple[str, str, list[Finding]]:
    head = data[:1024]
    if data.startswith(b"%PDF-"):
        return "pdf", "", []
    # a zip first: a docx may hold "%PDF-" in its first KiB (a stored part's text), a PDF never starts with PK
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data, limit)[:3]
    if b"%PDF-" in head:  # readers accept a PDF header anywhere in the first KiB
        return "pdf", "", []
    if data.startswith(OLE_MAGIC):
        return _ole_kind(data)
    for magic, name in _IMAGES:
        if data.startswith(magic):
            if name in OCR_IMAGES:
                return "image", name, []
            return "gif" if name == "GIF" else "bmp", name, [_f(
                "FILE_UNSUPPORTED_TYPE", f"文件为{name}图片，仅接受docx、PDF或JPEG/PNG/TIFF扫描图片格式的申报书",
                value=name, message_en=f"{name} image")]
    # a prefix of a known signature: an upload cut short
    for magic in (b"%PDF-", b"PK\x03\x04", OLE_MAGIC):
        if len(data) < len(magic) and magic.startswith(data):
            return "empty", "truncated", [_f("FILE_CORRUPT", "文件不完整（上传被截断）", message_en="truncated file")]
    if data.lstrip()[:5].lower() == b"{\\rtf":
        return "rtf", "", []
    text = _markup_kind(data)
    if text is not None:
        return text, "", []
    if data[:64].lower().startswith(b"mime-version:") and b"multipart/related" in data[:2048].lower():
        return "mht", "", [_f("FILE_UNSUPPORTED_TYPE", "文件为单个文件网页(MHT/MHTML)格式，无法读取，请用Word打开后另存为docx或PDF",
                              value="mht", message_en="MHTML (single-file web page), LibreOffice cannot convert it")]
    return "unknown", "", [_f("FILE_UNSUPPORTED_TYPE", "文件内容既不是docx也不是PDF", message_en="neither docx nor PDF")]


def _zip_kind(data: bytes, limit: int) -> tuple[str, str, list[Finding], tuple[zipfile.ZipFile, str] | None]:
    """(kind, detail, findings, the opened zip and its main part when it was found without trouble)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        return "docx", "badzip", [_f("FILE_CORRUPT", "文件已损坏（压缩结构无法打开），可能上传不完整",
                                     message_en=f"broken zip: {e}")], None
    names = {i.filename for i in infos}
    package = None
    try:
        main = main_part_name(zf)
        if main is not None:
            package = (zf, main)
    except Exception:  # a part that cannot be read: the backend says what is broken
        main = "word/document.xml" if "word/document.xml" in names else None
    if main is not None:
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limit:
            return "docx", "bomb", [_f(
                "FILE_TOO_LARGE", f"docx解压后大小{unpacked / 2**20:.0f}MB，超过限制{limit / 2**20:.0f}MB",
                value=unpacked, expected=f"≤{limit}字节", message_en="docx unpacks beyond the size limit")], None
        return "docx", "", [], package
    if "xl/workbook.xml" in names:
        what, en = "Excel表格(xlsx)", "xlsx"
    elif "ppt/presentation.xml" in names:
        what, en = "PowerPoint演示文稿(pptx)", "pptx"
    elif any(n.startswith("Contents/") or n == "mimetype" for n in names):
        what, en = "WPS/OpenDocument文件", "odf"
    else:
        what, en = "压缩包", "zip"
    return "zip", en, [_f("FILE_UNSUPPORTED_TYPE", f"文件为{what}，仅接受docx或PDF格式的申报书", value=en,
                          message_en=f"{en} file")], None


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _ole_kind(data: bytes) -> tuple[str, str, list[Finding]]:
    """An OLE2 compound file: encrypted OOXML, a Word/WPS document (convertible), or another Office file.

    Stream names sit in the compound file's directory as UTF-16; Kingsoft WPS 文字 (.wps) writes Word's
    binary format, with a ``WordDocument`` stream like Word's own .doc."""
    if _utf16("EncryptedPackage") in data:
        return "ole", "encrypted", [_f(
            "FILE_ENCRYPTED", "文件已加密（设置了打开密码），无法读取，请去除密码后重新上传",
            message_en="password-protected Office file")]
    if _utf16("WordDocument") in data:
        if _word_fib_encrypted(data):
            return "doc", "encrypted", [_f(
                "FILE_ENCRYPTED", "旧版Word(.doc)文件设置了打开密码，无法读取，请去除密码后重新上传",
                message_en="password-protected Word 97-2003 file (FIB fEncrypted)")]
        return "doc", "word97", []
    if _utf16("Workbook") in data or _utf16("Book") in data:
        what, en = "旧版Excel表格(.xls)", "xls"
    elif _utf16("PowerPoint Document") in data:
        what, en = "旧版PowerPoint演示文稿(.ppt)", "ppt"
    else:
        what, en = "旧版Office/WPS文件，但不是文字文档", "ole"
    return "ole", en, [_f("FILE_UNSUPPORTED_TYPE", f"文件为{what}，仅接受docx或PDF格式的申报书", value=en,
                          message_en=f"OLE2 file that is no word-processor document ({en})")]


def _markup_kind(data: bytes) -> str | None:
    """A text document LibreOffice converts: Word 2003 XML (``w:wordDocument``), or a web page — what
    Word's 另存为网页 writes and what web systems' "导出Word" buttons send, both often named ``.doc``."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"schemas.microsoft.com/office/word/2003/wordml" in head and b"worddocument" in head:
        return "wordxml"
    if head.startswith((b"<!doctype html", b"<html")) or (head.startswith((b"<?xml", b"<!--")) and b"<html" in head):
        return "html"
    return None


def _word_fib_encrypted(data: bytes) -> bool:
    """The ``fEncrypted`` bit of a .doc's File Information Block ([MS-DOC] 2.5.2), at the start of the
    WordDocument stream. The stream's directory entry is found where compound-file directory entries
    sit (128-byte aligned, name length 26, type stream); the FIB is in the stream's first sector."""
    shift = int.from_bytes(data[0x1E:0x20], "little")
    if shift not in (9, 12):
        return False
    name = _utf16("WordDocument")
    pos = data.find(name)
    while pos != -1:
        if pos % 128 == 0 and pos >= 512 and data[pos + 0x40:pos + 0x42] == b"\x1a\x00" and data[pos + 0x42] == 2:
            start = int.from_bytes(data[pos + 0x74:pos + 0x78], "little")
            fib = data[(start + 1) << shift:((start + 1) << shift) + 12]
            if len(fib) == 12 and fib[:2] in (b"\xec\xa5", b"\xdc\xa5"):  # wIdent of Word 97+ / Word 6-95
                return bool(int.from_bytes(fib[10:12], "little") & 0x0100)
            return False
        pos = data.find(name, pos + 1)
    return False
