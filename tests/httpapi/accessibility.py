"""A small accessibility checker for the museum's pages, and the contrast of its colours.

`problems(html)` lists what fails, in words: a page without `lang`, not exactly one h1, a
heading that skips a level (h2 → h4) or comes before the h1, a form control without a label
(a `<label for>`, an enclosing `<label>`, `aria-label` or `aria-labelledby`), an image without
`alt`, a button without text, an `svg role="img"` without a name, an id used twice.
`contrast(foreground, background)` is WCAG 2's ratio of two `#rrggbb` colours.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}
CONTROLS = {"input", "select", "textarea"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.levels: list[int] = []
        self.ids: dict[str, int] = {}
        self.label_for: set[str] = set()
        # (where, control id or None, inside a label, has an aria name)
        self.controls: list[tuple[str, str | None, bool, bool]] = []
        self.button_text: list[str] | None = None
        self.button_named = False
        self.lang = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.lang = bool(a.get("lang"))
        if "id" in a:
            self.ids[a["id"]] = self.ids.get(a["id"], 0) + 1
        heading = re.fullmatch(r"h([1-6])", tag)
        if heading:
            level = int(heading.group(1))
            if not self.levels and level != 1:
                self.problems.append(f"the first heading is h{level}, not h1")
            elif self.levels and level > self.levels[-1] + 1:
                self.problems.append(f"h{level} follows h{self.levels[-1]}: a level is skipped")
            self.levels.append(level)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        named = bool(a.get("aria-label", "").strip() or a.get("aria-labelledby", "").strip())
        if tag in CONTROLS and not (tag == "input" and a.get("type") in UNLABELLED_INPUTS):
            where = f"<{tag} name={a.get('name')!r}>"
            self.controls.append((where, a.get("id"), "label" in self.stack, named))
        if tag == "img" and "alt" not in a:
            self.problems.append(f"<img src={a.get('src')!r}> has no alt text")
        if tag == "svg" and a.get("role") == "img" and not named:
            self.problems.append("an <svg role=img> has no aria-label")
        if tag == "button":
            self.button_text, self.button_named = [], named
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self.button_text is not None:
            if not ("".join(self.button_text).strip() or self.button_named):
                self.problems.append("a <button> has no text")
            self.button_text = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.button_text is not None:
            self.button_text.append(data)

    def close(self) -> None:
        super().close()
        if not self.lang:
            self.problems.append("<html> has no lang")
        if self.levels.count(1) != 1:
            self.problems.append(f"{self.levels.count(1)} h1 headings; a page has exactly one")
        for where, control_id, in_label, named in self.controls:
            if not (named or in_label or (control_id and control_id in self.label_for)):
                self.problems.append(f"{where} has no label")
        self.problems += [f"id {i!r} is used {n} times" for i, n in self.ids.items() if n > 1]


def problems(html: str) -> list[str]:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.problems


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colours(css: str) -> dict[str, str]:
    """The `--name: #rrggbb` custom properties of a stylesheet."""
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
