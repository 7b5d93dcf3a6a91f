"""Drop later duplicates of a msgid from a .po file (merging branches that each appended
the same string leaves two definitions, which msgfmt and pybabel refuse).

    python tools/po_dedupe.py eldercare/translations/en/LC_MESSAGES/messages.po
"""

import re
import sys


def dedupe(text: str) -> tuple[str, int]:
    blocks = re.split(r"\n\n+", text.strip("\n"))
    seen: set[tuple[str, str]] = set()
    kept, dropped = [], 0
    for block in blocks:
        ids = re.findall(r'^(msgctxt|msgid) ((?:".*"\n?)+)', block + "\n", re.M)
        key = tuple(v for _k, v in ids) if ids else None
        if key is not None and key in seen and "#~" not in block:
            dropped += 1
            continue
        if key is not None:
            seen.add(key)
        kept.append(block)
    return "\n\n".join(kept) + "\n", dropped


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as fh:
            text, dropped = dedupe(fh.read())
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"{path}: {dropped} duplicate(s) dropped")
