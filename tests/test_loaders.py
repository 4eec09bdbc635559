"""Loaders: every file shape a report arrives in loads to the same text; every broken input is a
LoadError naming its reason, never a crash."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

import pytest

from llm_extract.loaders import LoadError, load
from llm_extract.textview import make_view

SYN = Path(__file__).resolve().parent.parent / "fixtures" / "synthetic"
QINGSHAN = SYN / "qingshan_2023.txt"


@pytest.fixture(scope="module")
def qingshan_text() -> str:
    return QINGSHAN.read_text(encoding="utf-8")


# --- committed variants ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, kind",
    [
        ("qingshan_2023.txt", "txt"),
        ("qingshan_2023_gbk.txt", "txt"),
        ("qingshan_2023_utf16.txt", "txt"),
        ("qingshan_2023_pdfwrap.txt", "txt"),
        ("qingshan_2023_pdf.pdf", "pdf"),
        ("yunxi_2024.md", "md"),
        ("yunxi_2024_docx.docx", "docx"),
        ("noheadings_2024.txt", "txt"),
    ],
)
def test_every_synthetic_variant_loads(name, kind):
    doc = load(SYN / name)
    assert doc.kind == kind
    assert doc.doc_id == Path(name).stem
    assert len(doc.sha256) == 64
    assert "\r" not in doc.text and "\ufeff" not in doc.text
    assert "卫生健康" in doc.text


@pytest.mark.parametrize("name, encoding", [("qingshan_2023_gbk.txt", "gb"), ("qingshan_2023_utf16.txt", "utf-16")])
def test_encoded_variants_decode_to_the_utf8_text(name, encoding, qingshan_text):
    raw = (SYN / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is not UTF-8
    doc = load(SYN / name)
    assert encoding in doc.encoding.lower()
    assert doc.text == qingshan_text  # GBK variant also has \r\n line endings: normalised away


def test_gbk_fixture_has_windows_line_endings():
    assert b"\r\n" in (SYN / "qingshan_2023_gbk.txt").read_bytes()


def test_pdfwrap_variant_keeps_every_character_in_the_hard_wrapped_layout(qingshan_text):
    doc = load(SYN / "qingshan_2023_pdfwrap.txt")
    assert doc.text != qingshan_text
    assert "\n\n" in doc.text
    assert make_view(doc.text).text == make_view(qingshan_text).text
    longest = max(len(line) for line in doc.text.split("\n"))
    assert longest <= 76


def test_pdf_text_layer_loads_whole_report(qingshan_text):
    doc = load(SYN / "qingshan_2023_pdf.pdf")
    assert doc.encoding is None
    # Same characters as the source text once line breaks and indentation are ignored.
    assert make_view(doc.text).text == make_view(qingshan_text).text


# --- text encodings and line endings (tmp files) ------------------------------------------------

SAMPLE = "二、存在的问题\r\n一是村医老龄化现象突出，60岁以上村医占38.58%。\r\n下一步，我局将加强培训。\r\n"
EXPECTED = SAMPLE.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "encoding, prefix",
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),  # UTF-8 with BOM (Windows Notepad)
        ("gbk", b""),
        ("gb18030", b""),
        ("utf-16", b""),  # Python writes the BOM
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),  # BOM-less UTF-16: found by the alignment of its NUL bytes
    ],
)
def test_text_encodings_are_detected(tmp_path, encoding, prefix):
    p = tmp_path / "report.txt"
    p.write_bytes(prefix + SAMPLE.encode(encoding))
    doc = load(p)
    assert doc.text == EXPECTED


def test_utf8_bom_is_stripped_and_offsets_start_at_the_text(tmp_path):
    p = tmp_path / "bom.md"
    p.write_bytes(b"\xef\xbb\xbf" + "# 自评报告\r\n存在问题".encode("utf-8"))
    doc = load(p)
    assert doc.text.startswith("# 自评报告\n")
    assert doc.kind == "md"


def test_old_mac_line_endings_are_normalised(tmp_path):
    p = tmp_path / "cr.txt"
    p.write_bytes("一、基本情况\r二、存在问题\r".encode("utf-8"))
    assert load(p).text == "一、基本情况\n二、存在问题\n"


def test_utf8_cut_mid_character_loads_with_a_warning(tmp_path):
    data = SAMPLE.encode("utf-8")
    p = tmp_path / "cut.txt"
    p.write_bytes(data[:-4])  # the last "。\r\n" minus one byte: a split character
    doc = load(p)
    assert doc.text.startswith("二、存在的问题\n")
    assert "\ufffd" in doc.text
    assert doc.warnings and "replaced" in doc.warnings[0]


# --- docx: body order and table rows ------------------------------------------------------------

def test_docx_fixture_renders_like_its_word_text_export():
    """The .docx and the text export of the same report load to identical text, so one
    table parser and one gold file serve both."""
    assert load(SYN / "yunxi_2024_docx.docx").text == load(SYN / "yunxi_2024.md").text


def test_docx_fixture_table_in_body_order_with_rows_as_cell_lines():
    text = load(SYN / "yunxi_2024_docx.docx").text
    before = text.index("部门整体支出主要绩效指标完成情况见下表")
    header = text.index("\t一级指标\n\t二级指标\n\t三级指标")
    after = text.index("上表中满意度指标由第三方机构")
    next_heading = text.index("六、下一步改进措施")
    assert before < header < after < next_heading
    # one row: its cells are adjacent tab-indented lines
    assert "\t产出指标\n\t数量指标\n\t四级手术台次\n\t≥1000台次\n\t1268台次\n\t10\n\t10\n\t超额完成\n\n" in text
    # vertically merged 一级指标/二级指标 continuation cells are empty lines of the row
    assert "\n\n\t\n\t\n\t新增普惠性托位\n\t≥400个\n" in text


def _write_docx(path: Path) -> None:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("表前的段落。")
    t = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["指标", "目标", "完成"], ["签约率", "≥75%", "78.6%"], ["", "≥90%", "93.7%"]]):
        for c, val in enumerate(row):
            t.cell(r, c).text = val
    t.cell(1, 0).merge(t.cell(2, 0))
    d.add_paragraph("表后的段落：存在的问题。")
    d.save(str(path))


def test_docx_paragraph_after_table_stays_after_it(tmp_path):
    p = tmp_path / "order.docx"
    _write_docx(p)
    text = load(p).text
    assert text.index("表前的段落") < text.index("\t指标") < text.index("表后的段落")
    assert "\t指标\n\t目标\n\t完成" in text
    assert "\t签约率\n\t≥75%\n\t78.6%\n\n\t\n\t≥90%\n\t93.7%" in text  # merged cell continues empty


# --- broken inputs ------------------------------------------------------------------------------

def _scan_pdf(path: Path) -> None:
    pytest.importorskip("reportlab")
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.setFillGray(0.6)
        c.rect(60, 80, 470, 680, fill=1)  # the "scanned page" image area
        c.showPage()
    c.save()


def _encrypted_pdf(path: Path, user_password: str) -> None:
    from pypdf import PdfWriter

    w = PdfWriter(clone_from=str(SYN / "qingshan_2023_pdf.pdf"))
    w.encrypt(user_password, owner_password="owner-secret", algorithm="RC4-128")
    with open(path, "wb") as fh:
        w.write(fh)


def _junk(n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.randrange(256) for _ in range(n))


BROKEN = {
    "empty": ("empty.txt", lambda p: p.write_bytes(b""), ["empty"]),
    "whitespace": ("blank.md", lambda p: p.write_bytes(b" \r\n\t \n"), ["empty"]),
    "whitespace_utf16": ("blank16.txt", lambda p: p.write_bytes("  \n \u3000".encode("utf-16")), ["empty"]),
    "empty_docx": ("empty.docx", lambda p: p.write_bytes(b""), ["empty"]),
    "binary_junk_txt": ("junk.txt", lambda p: p.write_bytes(_junk(4096)), ["not a text file"]),
    "pdf_named_txt": ("report.txt", lambda p: p.write_bytes((SYN / "qingshan_2023_pdf.pdf").read_bytes()),
                      ["not a text file", "pdf"]),
    "unknown_extension": ("report.xls", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0" + _junk(512)), ["unsupported", ".xls"]),
    "no_extension": ("report", lambda p: p.write_text("存在问题", encoding="utf-8"), ["unsupported"]),
    "corrupt_docx": ("bad.docx", lambda p: p.write_bytes(_junk(3000)), ["docx"]),
    "legacy_doc_as_docx": ("old.docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + _junk(600)),
                           ["not a .docx", "legacy"]),
    "corrupt_pdf": ("bad.pdf", lambda p: p.write_bytes(_junk(3000)), ["not a readable pdf"]),
    "truncated_pdf": ("cut.pdf", lambda p: p.write_bytes((SYN / "qingshan_2023_pdf.pdf").read_bytes()[:4000]),
                      ["not a readable pdf"]),
    "encrypted_pdf": ("locked.pdf", lambda p: _encrypted_pdf(p, "user-secret"), ["encrypted"]),
    "scan_pdf": ("scan.pdf", _scan_pdf, ["no text layer"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_is_a_load_error_with_a_reason(tmp_path, case):
    name, make, words = BROKEN[case]
    p = tmp_path / name
    make(p)
    with pytest.raises(LoadError) as exc:  # any other exception type fails the test
        load(p)
    msg = str(exc.value).lower()
    for w in words:
        assert w in msg, f"{case}: {msg!r} lacks {w!r}"


def test_directory_named_like_a_report_is_a_load_error(tmp_path):
    d = tmp_path / "x.txt"
    d.mkdir()
    with pytest.raises(LoadError, match="directory"):
        load(d)


def test_missing_file_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="not found"):
        load(tmp_path / "nope.pdf")


def test_pdf_with_only_an_owner_password_still_loads(tmp_path):
    """Many published PDFs are 'protected' against editing but open without a password."""
    p = tmp_path / "owner_only.pdf"
    _encrypted_pdf(p, "")
    assert "青山县卫生健康局" in load(p).text


# --- limits and odd inputs (issue 9) ----------------------------------------------------------

def _docx_with_xml(path: Path, xml_bytes: int) -> None:
    """A valid .docx whose body holds `xml_bytes` of highly compressible XML (a small zip bomb)."""
    import docx

    d = docx.Document()
    d.add_paragraph("存在问题")
    d.save(str(path))
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    body = parts["word/document.xml"]
    filler = b"<w:p><w:r><w:t>" + b"a" * (xml_bytes // 2) + b"</w:t></w:r></w:p>"
    parts["word/document.xml"] = body.replace(b"<w:sectPr", filler + b"<w:sectPr", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in parts.items():
            z.writestr(n, b)


def test_docx_expanding_past_the_xml_limit_is_refused_with_how_to_raise_it(tmp_path, monkeypatch):
    p = tmp_path / "bomb.docx"
    _docx_with_xml(p, 3_000_000)
    assert p.stat().st_size < 100_000  # small on disk, large once inflated
    monkeypatch.setenv("LLM_EXTRACT_MAX_DOCX_XML_MB", "1")
    with pytest.raises(LoadError) as e:
        load(p)
    msg = str(e.value)
    assert "MB of XML" in msg and "1 MB limit" in msg and "LLM_EXTRACT_MAX_DOCX_XML_MB" in msg
    monkeypatch.setenv("LLM_EXTRACT_MAX_DOCX_XML_MB", "10")  # raised: the same file reads
    assert load(p).text.startswith("存在问题")


def test_docx_xml_limit_has_a_default(monkeypatch):
    from llm_extract.loaders import DOCX_XML_LIMIT_MB, docx_xml_limit

    monkeypatch.delenv("LLM_EXTRACT_MAX_DOCX_XML_MB", raising=False)
    assert docx_xml_limit() == DOCX_XML_LIMIT_MB * 1_000_000
    monkeypatch.setenv("LLM_EXTRACT_MAX_DOCX_XML_MB", "nonsense")
    assert docx_xml_limit() == DOCX_XML_LIMIT_MB * 1_000_000


def test_aes_pdf_with_only_an_owner_password_loads(tmp_path):
    from pypdf import PdfWriter

    p = tmp_path / "aes.pdf"
    w = PdfWriter(clone_from=str(SYN / "qingshan_2023_pdf.pdf"))
    w.encrypt("", owner_password="owner-secret", algorithm="AES-256")
    with open(p, "wb") as fh:
        w.write(fh)
    assert "青山县卫生健康局" in load(p).text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    p = tmp_path / "pipe.txt"
    os.mkfifo(p)
    with pytest.raises(LoadError, match="not a regular file"):
        load(p)


def test_mixed_encoding_text_is_decoded_line_by_line_not_called_binary(tmp_path):
    utf8 = "一、部门基本情况\n我局负责全县卫生健康工作。\n".encode("utf-8")
    gbk = "二、存在问题\n村医老龄化现象突出。\n".encode("gbk")
    p = tmp_path / "mixed.txt"
    p.write_bytes(utf8 + gbk)
    doc = load(p)
    assert doc.text == "一、部门基本情况\n我局负责全县卫生健康工作。\n二、存在问题\n村医老龄化现象突出。\n"
    assert any("line by line" in w for w in doc.warnings)


def test_undecodable_text_is_not_called_binary(tmp_path):
    p = tmp_path / "odd.txt"
    # bytes no supported encoding reads (0xFF), among ordinary text: no control characters
    p.write_bytes("报告 \xff\xfe 正文\n".encode("utf-8").replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe") * 50)
    with pytest.raises(LoadError) as e:
        load(p)
    assert "binary" not in str(e.value) and "UTF-8" in str(e.value)
