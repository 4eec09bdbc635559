"""File → Document for .txt, .md, .docx and .pdf; every failure is a LoadError naming the reason.

The loaded text is kept as-is (only BOMs stripped and line endings normalised to \\n) because it is
the offset space of every extracted item.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
from pathlib import Path

from .document import Document, sha256_bytes

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf"}


#: Formats a folder of reports often also holds, which are passed over, and what to do instead.
_SAVE_AS_DOCX = "open them in Word or WPS and save as .docx"
_SPREADSHEET = "spreadsheets are not read; save a report kept in one as .docx or .pdf"
PASSED_OVER = {".doc": _SAVE_AS_DOCX, ".wps": _SAVE_AS_DOCX, ".rtf": _SAVE_AS_DOCX, ".odt": _SAVE_AS_DOCX,
               ".xls": _SPREADSHEET, ".xlsx": _SPREADSHEET, ".et": _SPREADSHEET}


def passed_over_notes(counts: dict[str, int]) -> list[str]:
    """One line per advice: how many files of which types a folder scan passed over, and why."""
    by_advice: dict[str, list[str]] = {}
    for suffix, n in sorted(counts.items()):
        by_advice.setdefault(PASSED_OVER[suffix], []).append(f"{n} {suffix}")
    return [f"passed over {', '.join(found)} file(s) (not read): {advice}" for advice, found in by_advice.items()]


class LoadError(Exception):
    """A per-file problem a user can act on (bad encoding, scan-only PDF, unsupported type...)."""


def load(path: str | Path) -> Document:
    """Load one report file. Raises LoadError with a plain-language reason.

    `source` is recorded as an absolute path, so a result can be viewed from any directory."""
    p = Path(path)
    if not p.exists():
        raise LoadError("file not found")
    if p.is_dir():
        raise LoadError("is a directory")
    if not p.is_file():  # reading a FIFO would wait forever for a writer
        raise LoadError("not a regular file (a FIFO, socket or device); name the report file itself")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(
            f"unsupported file type '{p.suffix or '(none)'}' (supported: {', '.join(sorted(SUFFIXES))})"
        )
    try:
        data = p.read_bytes()
    except OSError as e:
        raise LoadError(f"cannot read file: {e.strerror or e}") from None
    if not data.strip():
        raise LoadError("file is empty")
    digest = sha256_bytes(data)
    _check_magic(data, suffix)
    warnings: tuple[str, ...] = ()
    if suffix in TEXT_SUFFIXES:
        text, enc = decode_text(data)
        kind = "md" if suffix in {".md", ".markdown"} else "txt"
        if not text.strip("\ufeff \t\r\n\u3000"):
            raise LoadError("file is empty (whitespace only)")
        bad = text.count("\ufffd")
        if bad:
            warnings = (f"{bad} undecodable byte sequence(s) replaced with U+FFFD",)
        if enc == MIXED:
            warnings += ("lines in different encodings (UTF-8 and GB18030/GBK), decoded line by line",)
    elif suffix == ".docx":
        check_docx_size(data)
        text, enc, kind = docx_text(p), None, "docx"
    else:
        text, enc, kind = pdf_text(p), None, "pdf"
    text = normalize_newlines(text)
    if not text.strip():
        raise LoadError("no text found in file")
    return Document(
        doc_id=p.stem, source=os.path.abspath(p), text=text, sha256=digest, kind=kind, encoding=enc, warnings=warnings
    )


#: Leading bytes of formats people save under the wrong extension, and what to tell them.
_MAGIC = (
    (b"%PDF-", "pdf", "a PDF file"),
    (b"PK\x03\x04", "docx", "a zip archive (.docx/.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole", "a legacy Office binary file (.doc/.xls/.wps)"),
)


def _check_magic(data: bytes, suffix: str) -> None:
    """Name the real format when the extension lies (a renamed .doc, a PDF saved as .txt...)."""
    head = data[:8]
    found = next(((kind, what) for magic, kind, what in _MAGIC if head.startswith(magic)), None)
    if suffix in TEXT_SUFFIXES and found:
        raise LoadError(f"not a text file: the content is {found[1]}; give it the right extension")
    if suffix == ".docx" and found and found[0] != "docx":
        hint = "; save it as .docx in Word/WPS" if found[0] == "ole" else "; rename it to .pdf" if found[0] == "pdf" else ""
        raise LoadError(f"not a .docx file: the content is {found[1]}{hint}")
    if suffix == ".pdf" and b"%PDF-" not in data[:1024]:
        what = f"the content is {found[1]}" if found else "no %PDF- header"
        raise LoadError(f"not a readable PDF ({what})")


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a Chinese text file: BOMs, UTF-8, BOM-less UTF-16, then GB18030 (GBK superset)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data.decode(enc)), enc
            except UnicodeDecodeError:
                raise LoadError(f"file starts with a {enc} byte-order mark but is not valid {enc}") from None
    candidates = ["utf-8"]
    if _looks_utf16(data):
        candidates = ["utf-16-le" if _nul_parity(data) == 1 else "utf-16-be", "utf-8"]
    candidates.append("gb18030")
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _is_plausible_text(text):
            return text, enc
    # UTF-8 damaged in a few places (a file cut off mid-character, one stray byte): keep it, with
    # U+FFFD marking the damage, rather than rejecting a readable report.
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(1, len(data) // 1000) and _is_plausible_text(text):
        return text, "utf-8"
    mixed = _decode_by_line(data)
    if mixed is not None:
        return mixed, MIXED
    sample = data[:20000]
    if sum(sample.count(b) for b in _CONTROL_BYTES) > max(2, len(sample) // 200):
        raise LoadError("not a text file (binary content)")
    raise LoadError("cannot decode the text: it is not UTF-8, GB18030/GBK or UTF-16, not even line by line; "
                    "save it as UTF-8")


#: Bytes no text encoding we read produces outside UTF-16 (control characters but tab/newlines).
_CONTROL_BYTES = [bytes([b]) for b in (*range(0, 9), 11, *range(14, 32), 127)]

#: `Document.encoding` of a text whose lines are in different encodings.
MIXED = "utf-8+gb18030"


def _decode_by_line(data: bytes) -> str | None:
    """Text pasted together from files in different encodings: each line in UTF-8, else GB18030.
    None unless both occur and the result reads as text (few lines undecodable either way)."""
    lines, utf8, gb, bad = [], 0, 0, 0
    for raw in data.split(b"\n"):
        try:
            line = raw.decode("utf-8")
            utf8 += not raw.isascii()
        except UnicodeDecodeError:
            try:
                line = raw.decode("gb18030")
                gb += 1
            except UnicodeDecodeError:
                line = raw.decode("utf-8", errors="replace")
                bad += 1
        lines.append(line)
    text = "\n".join(lines)
    if not (utf8 and gb) or bad > max(1, len(lines) // 100) or not _is_plausible_text(text):
        return None
    return text


def _nul_parity(data: bytes) -> int:
    sample = data[:4096]
    odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
    even = sum(1 for i in range(0, len(sample), 2) if sample[i] == 0)
    return 1 if odd >= even else 0


def _looks_utf16(data: bytes) -> bool:
    """NUL bytes mostly at one parity: the ASCII (digits, line breaks) of BOM-less UTF-16.

    Chinese UTF-16 has few NULs (only its ASCII characters produce them), so the test is their
    alignment rather than their share; UTF-8 and GB18030 text never contains NUL.
    """
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 2]
    zeros = sample.count(0)
    if len(sample) < 4 or zeros < max(2, len(sample) // 200):
        return False
    odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
    return 3 * max(odd, zeros - odd) >= 2 * zeros


#: Control characters (but tab/newlines/form feed), surrogates, private use and non-characters.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufffe\uffff]")


def _is_plausible_text(text: str) -> bool:
    """Reject decodings full of control characters or private-use code points (binary junk)."""
    if not text:
        return False
    sample = text[:20000]
    bad = len(_BAD_CHARS.findall(sample))
    return bad <= max(2, len(sample) // 200)


def _check_text(text: str) -> str:
    if not _is_plausible_text(text):
        raise LoadError("not a text file (binary content)")
    return text


#: Environment variable that raises the limit below, in MB.
DOCX_LIMIT_ENV = "LLM_EXTRACT_MAX_DOCX_XML_MB"
#: Default limit on a .docx's uncompressed XML. Parsing costs ~17x the XML's size in memory; a
#: thousand-page report has ~10 MB, while a zip bomb of 1 MB can expand to hundreds.
DOCX_XML_LIMIT_MB = 64.0


def docx_xml_limit() -> int:
    """The uncompressed-XML limit in bytes: $LLM_EXTRACT_MAX_DOCX_XML_MB, else the default."""
    raw = os.environ.get(DOCX_LIMIT_ENV, "").strip()
    try:
        mb = float(raw) if raw else DOCX_XML_LIMIT_MB
    except ValueError:
        mb = DOCX_XML_LIMIT_MB
    return int((mb if mb > 0 else DOCX_XML_LIMIT_MB) * 1_000_000)


def check_docx_size(data: bytes) -> None:
    """Refuse a .docx whose XML parts expand past the limit, before anything is decompressed.
    (The sizes are those the zip declares; Python's zipfile never inflates a member past its
    declared size, so a lying header fails as a corrupt file instead.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            xml = sum(i.file_size for i in z.infolist() if i.filename.lower().endswith((".xml", ".rels")))
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # python-docx names the breakage
    limit = docx_xml_limit()
    if xml > limit:
        raise LoadError(
            f".docx expands to {xml / 1e6:.0f} MB of XML, over the {limit / 1e6:g} MB limit (a zip bomb, or a "
            f"huge document): set {DOCX_LIMIT_ENV} to a larger number of MB to read it anyway"
        )


def docx_text(path: Path) -> str:
    """Paragraphs and tables in body order; each table row a block of tab-indented cell lines.

    The shape matches a Word table exported to text (one cell per tab-indented line, a blank line
    between rows, vertically merged continuation cells left empty), so one table parser serves both.
    """
    try:
        import docx  # python-docx
        from docx.oxml.ns import qn
    except ImportError as e:  # pragma: no cover - declared dependency
        raise LoadError(f"python-docx is not installed: {e}") from None
    try:
        d = docx.Document(str(path))
    except Exception as e:  # python-docx raises several types for a broken package
        raise LoadError(f"not a readable .docx file ({type(e).__name__}: {e})") from None

    def para_text(p_el) -> str:
        parts = []
        for node in p_el.iter():
            if node.tag == qn("w:t"):
                parts.append(node.text or "")
            elif node.tag == qn("w:tab"):
                parts.append("\t")
            elif node.tag in (qn("w:br"), qn("w:cr")):
                parts.append("\n")
        return "".join(parts)

    def cell_text(tc) -> str:
        return "\n".join(para_text(p) for p in tc.iter(qn("w:p"))).strip()

    def table_text(tbl) -> str:
        rows = []
        for tr in tbl.iter(qn("w:tr")):
            if tr.getparent() is not tbl:  # nested tables are rendered inside their cell text
                continue
            cells = []
            for tc in tr.findall(qn("w:tc")):
                tcpr = tc.find(qn("w:tcPr"))
                vmerge = tcpr.find(qn("w:vMerge")) if tcpr is not None else None
                cont = vmerge is not None and vmerge.get(qn("w:val")) in (None, "continue")
                cells.append("" if cont else cell_text(tc))
            rows.append("\n".join("\t" + c for c in cells))
        return "\n\n".join(rows)

    blocks = []
    for el in d.element.body.iterchildren():
        if el.tag == qn("w:p"):
            blocks.append(para_text(el))
        elif el.tag == qn("w:tbl"):
            blocks.append("\n" + table_text(el) + "\n")
    return "\n".join(blocks)


def pdf_text(path: Path) -> str:
    """The PDF's text layer, pages joined by blank lines; scans and encrypted files are LoadErrors."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, PdfReadError
    except ImportError as e:  # pragma: no cover - declared dependency
        raise LoadError(f"pypdf is not installed: {e}") from None
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise LoadError("PDF is encrypted (password-protected); decrypt it first")
        pages = [(pg.extract_text() or "") for pg in reader.pages]
    except LoadError:
        raise
    except DependencyError as e:  # AES needs the `cryptography` package (pypdf[crypto])
        raise LoadError(f"PDF is AES-encrypted and the 'cryptography' package is missing "
                        f"(pip install 'pypdf[crypto]'): {e}") from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise LoadError(f"not a readable PDF ({type(e).__name__}: {e})") from None
    except Exception as e:  # pypdf raises assorted errors on corrupt input
        raise LoadError(f"not a readable PDF ({type(e).__name__}: {e})") from None
    text = "\n\n".join(p.strip("\n") for p in pages)
    if sum(1 for ch in text if not ch.isspace()) < 20 * max(1, len(pages)) // 2:
        raise LoadError("PDF has no text layer (a scanned image?); run OCR first")
    return text
