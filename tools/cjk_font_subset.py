"""Make eldercare/fonts/EldercareSansCJK.ttf, the font the statement PDFs embed.

reportlab embeds TrueType (glyf) outlines only: Noto CJK is CFF inside a .ttc, so the
Chinese comes from Droid Sans Fallback (Apache-2.0, TrueType) cut to the GBK repertoire
(every CJK Unified Ideograph U+4E00–U+9FA5, GBK's symbols, full-width punctuation). Droid
Sans Fallback has no Latin letters or digits, so ASCII and Latin-1 come from DejaVu Sans
(Bitstream Vera licence, DejaVu changes public domain). The two are merged at 2048 units per
em (Droid's 256 scaled by 8, exactly), hinting dropped, and the result renamed as the Vera
licence asks of a modified font. Each PDF then embeds only the glyphs it uses.

    apt-get download fonts-droid-fallback && dpkg-deb -x fonts-droid-fallback_*.deb x
    .venv/bin/pip install fonttools          # fonts-dejavu-core is on the machine
    .venv/bin/python tools/cjk_font_subset.py \\
        x/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf \\
        /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem

OUT = Path(__file__).resolve().parent.parent / "eldercare" / "fonts" / "EldercareSansCJK.ttf"
NAME = "Eldercare Sans CJK"
LATIN = (
    set(range(0x20, 0x7F))
    | set(range(0xA0, 0x100))
    | {0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x2030, 0x20AC}
)


def gbk() -> set[int]:
    out = set()
    for hi in range(0x81, 0xFF):
        for lo in range(0x40, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                out.add(ord(bytes([hi, lo]).decode("gbk")))
    return out


def cut(path: str, chars: set[int]) -> TTFont:
    font = TTFont(path)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    options.drop_tables += ["vhea", "vmtx", "GSUB", "GPOS", "GDEF", "kern", "FFTM", "BASE"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=chars & set(font.getBestCmap()))
    sub.subset(font)
    return font


def main(droid: str, dejavu: str) -> None:
    cjk = (
        gbk() | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | {0x2116, 0x2103, 0x00B7}
    ) - LATIN
    han = cut(droid, cjk)
    scale_upem(han, 2048)  # DejaVu's; 256 x 8 keeps every point exact
    latin = cut(dejavu, LATIN)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(Path(tmp) / "latin.ttf"), str(Path(tmp) / "han.ttf")]
        latin.save(paths[0])
        han.save(paths[1])
        font = Merger().merge(paths)  # the first font's glyph wins where both have one
    names = font["name"]
    names.names = [n for n in names.names if n.nameID not in (1, 2, 3, 4, 6, 16, 17)]
    for nid, text in (
        (1, NAME),
        (2, "Regular"),
        (3, f"{NAME} Regular"),
        (4, NAME),
        (6, NAME.replace(" ", "") + "-Regular"),
    ):
        names.setName(text, nid, 3, 1, 0x409)
    names.setName(
        "Copyright (c) 2003 by Bitstream, Inc. (Bitstream Vera); DejaVu changes "
        "in the public domain. Copyright (c) 2006-2010 Google Corp. (Droid Sans "
        "Fallback, Apache License 2.0). Merged and cut for eldercare.",
        0,
        3,
        1,
        0x409,
    )
    OUT.parent.mkdir(exist_ok=True)
    font.save(OUT)
    print(OUT, OUT.stat().st_size)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
