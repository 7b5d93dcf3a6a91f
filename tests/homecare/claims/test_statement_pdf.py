"""Issue 17.14: the statement PDF embeds its Chinese font (a subset), carries the blocks for
经办人, 审核人 and 单位盖章, and is aimed at PDF/A-2b (XMP identification, an output intent)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests import factories as f

from .conftest import claim_and_reconcile, line


def _fonts(reader: PdfReader) -> list:
    """Every font dictionary the pages use (descendants of composite fonts included)."""
    found = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            found.append(font)
            for child in font.get("/DescendantFonts", []):
                found.append(child.get_object())
    return found


def _statement(client, month) -> bytes:
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, v)])["id"]
    r = client.get(f"/api/v1/homecare/claims/{cid}/statement.pdf", headers=f.headers(month.admin))
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    return r.data


def test_every_font_of_the_statement_is_embedded(client, month):
    reader = PdfReader(io.BytesIO(_statement(client, month)))
    fonts = [x for x in _fonts(reader) if x.get("/Subtype") != "/Type0"]
    assert fonts
    for font in fonts:
        name = str(font["/BaseFont"])
        assert "STSong" not in name
        descriptor = font["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), name
        # a subset: the six-letter tag before the name (ABCDEF+Name)
        assert len(name.lstrip("/").split("+")[0]) == 6 and "+" in name, name
    text = "".join(p.extract_text() for p in reader.pages)
    assert "结算单" in text and month.provider.name in text  # the Chinese still reads back


def test_the_statement_has_blocks_for_the_signatures_and_the_seal(client, month):
    reader = PdfReader(io.BytesIO(_statement(client, month)))
    text = "".join(p.extract_text() for p in reader.pages)
    for label in ("经办人（签字）", "审核人（签字）", "单位盖章", "服务组织（盖章）"):
        assert label in text, label
    assert text.count("年　　月　　日") >= 4 or text.count("年") >= 4


def test_the_statement_identifies_itself_as_pdfa_2b(client, month):
    data = _statement(client, month)
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"].get_object()
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>B" in xmp
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3 and profile.get_data()[36:40] == b"acsp"
    assert "/ID" in reader.trailer
    assert b"/Encrypt" not in data and b"/JavaScript" not in data
    assert reader.metadata.title in xmp  # Info and XMP agree


def test_the_statement_reads_in_english_for_an_english_reader(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = claim_and_reconcile(client, month, [line(1, v), line(2, v)])["id"]
    client.set_cookie("lang", "en")
    r = client.get(f"/api/v1/homecare/claims/{cid}/statement.pdf", headers=f.headers(month.admin))
    reader = PdfReader(io.BytesIO(r.data))
    text = "".join(p.extract_text() for p in reader.pages)
    for label in (
        "settlement statement",
        "Clerk (signature)",
        "Reviewer (signature)",
        "Bureau's seal",
        "Subtotals by township",
    ):
        assert label in text, label
    assert "经办人" not in text and "结算单" not in text
    root = reader.trailer["/Root"].get_object()
    assert root["/Lang"] == "en"
