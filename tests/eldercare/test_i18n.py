"""The English catalogue: pages switch to English, and no message is left untranslated.

Source strings are Chinese; eldercare/translations/en holds the English. After adding
strings: pybabel extract, pybabel update, translate every new entry (no fuzzy flags),
pybabel compile, and commit the .po and the .mo together.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import eldercare

CATALOGUE = Path(eldercare.__file__).resolve().parent / "translations" / "en" / "LC_MESSAGES"
PO = CATALOGUE / "messages.po"
MO = CATALOGUE / "messages.mo"

# Han ideographs plus CJK and full-width punctuation (，。：（）“”…).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


class _Text(HTMLParser):
    """Visible text by element: title, headings, labels, buttons, links, paragraphs,
    plus placeholder / aria-label / alt attributes. Skips the language switch, whose
    label is deliberately in the other language."""

    TAGS = {"title", "h1", "h2", "h3", "label", "button", "a", "p", "th", "legend"}
    ATTRS = {"placeholder", "aria-label", "alt", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[str, str]] = []
        self._stack: list[str] = []
        self._skip_at: int | None = None  # stack depth of the language switch form

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "input", "meta", "link", "img", "hr"}:
            if self._skip_at is None:
                self._attrs(tag, dict(attrs))
            return
        self._stack.append(tag)
        attrs = dict(attrs)
        if self._skip_at is None and tag == "form" and "/lang/" in (attrs.get("action") or ""):
            self._skip_at = len(self._stack)
        if self._skip_at is None:
            self._attrs(tag, attrs)

    def _attrs(self, tag, attrs):
        for name in sorted(self.ATTRS & attrs.keys()):
            if attrs[name]:
                self.texts.append((f"{tag}[{name}]", attrs[name]))

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass
            if self._skip_at is not None and len(self._stack) < self._skip_at:
                self._skip_at = None

    def handle_data(self, data):
        if self._skip_at is not None or not data.strip():
            return
        tag = next((t for t in reversed(self._stack) if t in self.TAGS), None)
        if tag:
            self.texts.append((tag, data.strip()))


def _english(client, path: str) -> tuple[str, list[tuple[str, str]]]:
    client.set_cookie("lang", "en")
    resp = client.get(path)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    parser = _Text()
    parser.feed(html)
    return html, parser.texts


def test_login_page_is_in_english(client):
    html, texts = _english(client, "/login")
    assert '<html lang="en">' in html
    visible = " ".join(t for _, t in texts)
    for label in ("Username", "Password", "Log in", "Youxian District Elder Care"):
        assert label in visible
    left = [(tag, t) for tag, t in texts if CJK.search(t)]
    assert left == [], f"Chinese left on the English login page: {left}"
    assert "中文" in html  # the switch back to Chinese is still offered


def test_public_page_is_in_english(client):
    html, texts = _english(client, "/public")
    assert '<html lang="en">' in html
    visible = " ".join(t for _, t in texts)
    for label in (
        "Youxian District Elder Care: Public Figures",
        "Tekun recipients",
        "Centralised support rate",
        "This page shows aggregate figures only, with no personal information.",
    ):
        assert label in visible
    # The labels the page itself carries: title, heading, the tekun card, the note.
    # Figures contributed by modules (facilities, homecare) bring their own titles and
    # line labels, and township names are data, so those are not checked here.
    own = [t for tag, t in texts if tag in {"title", "h1"}]
    own += [t for tag, t in texts if tag == "h2"][:1]  # the tekun card comes first
    own += [t for tag, t in texts if tag == "p" and ("rate" in t or "aggregate" in t)]
    assert len(own) >= 5, own
    left = [t for t in own if CJK.search(t)]
    assert left == [], f"Chinese left in the English public page's own labels: {left}"


def test_chinese_stays_the_default(client):
    resp = client.get("/login")
    html = resp.get_data(as_text=True)
    assert "用户名" in html and "Username" not in html


def _catalogue():
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def test_every_message_is_translated_and_none_fuzzy():
    catalogue = _catalogue()
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy"
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 100
    untranslated = [
        m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy (check, then remove the flag): {fuzzy}"


def test_no_message_is_defined_twice():
    """Two branches that append the same string leave two definitions: babel keeps the
    last silently, msgfmt refuses the file. tools/po_dedupe.py drops the later ones."""
    ids = re.findall(r'^msgid ((?:".*"\n)+)msgstr', PO.read_text(encoding="utf-8"), re.M)
    seen: set[str] = set()
    twice = sorted({i for i in ids if i in seen or seen.add(i)})
    assert twice == [], f"defined twice: {twice}"


def test_translations_keep_their_placeholders():
    catalogue = _catalogue()
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []
    placeholder = re.compile(r"%%|%\(\w+\)[sdfr]|\{\w*\}")
    for m in catalogue:
        if m.id and isinstance(m.id, str):
            assert sorted(placeholder.findall(m.id)) == sorted(placeholder.findall(m.string)), m.id


def test_translations_are_in_english():
    """Chinese may appear only where the English quotes it (column headers to type)."""
    catalogue = _catalogue()
    chinese = [
        m.id
        for m in catalogue
        if m.id and CJK.search(m.string) and "“" not in m.string and "Chinese" not in m.string
    ]
    assert chinese == []


def test_compiled_catalogue_matches_the_po():
    """messages.mo is what the app reads: it must be compiled from the current .po."""
    with MO.open("rb") as fh:
        compiled = read_mo(fh)
    source = {m.id: m.string for m in _catalogue() if m.id}
    built = {m.id: m.string for m in compiled if m.id}
    assert built == source, "messages.mo is stale: run pybabel compile -d eldercare/translations"


def test_every_string_in_the_code_is_in_the_catalogue():
    """A string marked for translation since the last `make i18n` would show in Chinese
    on the English pages: extract as `make i18n` does and find each in the catalogue."""
    from babel.messages.extract import extract_from_dir

    root = Path(eldercare.__file__).resolve().parent.parent
    method_map = [
        ("eldercare/**.py", "python"),
        ("dynamic/**.py", "python"),
        ("facilities/**.py", "python"),
        ("homecare/**.py", "python"),
        ("intake/**.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "_l": None,
        "lazy_gettext": None,
        "N_": None,
    }  # N_: stored in Chinese, shown translated
    catalogue = _catalogue()
    missing = sorted(
        {
            (msg if isinstance(msg, str) else msg[0]) + f"  ({path}:{line})"
            for path, line, msg, _c, _ctx in extract_from_dir(
                str(root), method_map, keywords=keywords, comment_tags=()
            )
            if catalogue.get(msg if isinstance(msg, str) else msg[0]) is None
        }
    )
    assert missing == [], "run make i18n and translate:\n" + "\n".join(missing)
