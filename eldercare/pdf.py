"""PDFs that print, sign and archive the same on any PC: the font embedded (Eldercare Sans
CJK: Droid Sans Fallback's Chinese with DejaVu Sans's Latin, eldercare/fonts/README.md),
and the file made a PDF/A-2b candidate (XMP metadata matching the document information, an
sRGB output intent, a file ID).

What holds for PDF/A-2b (ISO 19005-2, level B): every font embedded (reportlab's TrueType
subsets; no reference to an outside font such as STSong-Light), no encryption, no
JavaScript or external content, device RGB under an sRGB output intent, XMP metadata with
pdfaid:part 2 / conformance B agreeing with the Info dictionary, a trailer ID. Not checked
here: a validator's verdict (veraPDF does not run offline on this machine), so the files are
"aimed at" PDF/A-2b, not certified."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

FONT = "EldercareCJK"  # the registered name of the embedded font
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "EldercareSansCJK.ttf"


def register_font() -> str:
    """Register the embedded CJK font with reportlab once; returns its name. Give it to
    the document template as `initialFontName` too: the default (Helvetica, one of the
    standard 14 fonts, never embedded) would otherwise sit in every page's resources."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _xmp(title: str, producer: str, created: str, lang: str) -> bytes:
    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(title)}</rdf:li></rdf:Alt></dc:title>
   <dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreateDate>{created}</xmp:CreateDate>
   <xmp:ModifyDate>{created}</xmp:ModifyDate>
   <pdf:Producer>{esc(producer)}</pdf:Producer>
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def pdfa(data: bytes, title: str, lang: str = "zh-CN") -> bytes:
    """`data` (a reportlab PDF) as a PDF/A-2b candidate: XMP metadata, the sRGB output
    intent, the document information rewritten to agree with the XMP."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    now = datetime.now(UTC).replace(microsecond=0)
    producer = "eldercare (reportlab, pypdf)"
    writer.metadata = None
    writer.add_metadata(
        {
            "/Title": title,
            "/Producer": producer,
            "/CreationDate": now.strftime("D:%Y%m%d%H%M%S+00'00'"),
            "/ModDate": now.strftime("D:%Y%m%d%H%M%S+00'00'"),
        }
    )
    xmp = DecodedStreamObject()
    xmp.set_data(_xmp(title, producer, now.strftime("%Y-%m-%dT%H:%M:%SZ"), lang))
    xmp.update(
        {NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")}
    )
    icc = DecodedStreamObject()
    icc.set_data(_srgb_profile())
    icc.update({NameObject("/N"): NumberObject(3)})
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/DestOutputProfile"): writer._add_object(icc),
        }
    )
    root = writer._root_object
    root[NameObject("/Metadata")] = writer._add_object(xmp)
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    root[NameObject("/Lang")] = TextStringObject(lang)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
