"""Read a checkbox group written any way applicants write one.

``☑ 民营企业 ☐ 国有企业``, the same with ``■ √ ✓ ✔ ☒ [x] [X] (√)`` as ticks and ``☐ □ [ ]`` as
blanks, ticks after the option (``民营企业√``), or no glyphs at all because the options not chosen
were deleted: all read as the same set of chosen options, in catalogue order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TICK_GLYPHS = "☑☒■√✓✔✅⊠▣●◉☛"
BLANK_GLYPHS = "☐□▢◻○◯❏❑"
_GLYPHS = TICK_GLYPHS + BLANK_GLYPHS
# bracketed marks -> one glyph
_BRACKET_TICK = re.compile(r"[\[【(（]\s*[xX×✗✘√✓✔☑■]\s*[\]】)）]")
_BRACKET_BLANK = re.compile(r"[\[【]\s*[\]】]|[(（]\s{1,3}[)）]")


@dataclass
class Choice:
    chosen: list[str]  # option texts, catalogue order
    glyphs: bool  # the text used tick/blank marks
    unknown: list[str]  # ticked things that are no option (e.g. a typo)


def _prep(text: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    # NFKC leaves ☑☐■√ alone; fold the bracket marks
    t = _BRACKET_TICK.sub("☑", t)
    t = _BRACKET_BLANK.sub("☐", t)
    return t


def _squash(s: str) -> str:
    return re.sub(r"[\s:：,，、;；/]+", "", s).upper()


def read_choices(text: str, options: tuple[str, ...]) -> Choice:
    t = _prep(text or "")
    opts_sq = [(o, _squash(unicodedata.normalize("NFKC", o))) for o in options]
    if not any(g in t for g in _GLYPHS):
        # options deleted: what is still written is what was chosen
        found = _find_options(_squash(t), opts_sq)
        return Choice([o for o in options if o in found], False, [])

    stripped = t.strip()
    suffix = stripped[:1] not in _GLYPHS and stripped[-1:] in _GLYPHS
    # split into (mark, option text) pairs
    parts = re.split(f"([{re.escape(_GLYPHS)}])", t)
    pairs: list[tuple[str, str]] = []
    if suffix:
        # text0 g0 text1 g1 ... : each glyph belongs to the text before it
        for i in range(1, len(parts), 2):
            pairs.append((parts[i], parts[i - 1]))
    else:
        for i in range(1, len(parts), 2):
            pairs.append((parts[i], parts[i + 1] if i + 1 < len(parts) else ""))
    chosen: set[str] = set()
    unknown: list[str] = []
    for mark, seg in pairs:
        if mark not in TICK_GLYPHS:
            continue
        sq = _squash(seg)
        hit = _leading_option(sq, opts_sq)
        if hit:
            chosen.add(hit)
        elif sq:
            unknown.append(seg.strip())
    return Choice([o for o in options if o in chosen], True, unknown)


def _leading_option(sq: str, opts_sq: list[tuple[str, str]]) -> str | None:
    best = None
    for o, osq in opts_sq:
        if osq and sq.startswith(osq) and (best is None or len(osq) > len(best[1])):
            best = (o, osq)
    if best:
        return best[0]
    # e.g. "其他（元宇宙）" handled above; "其它" spelled differently
    if sq.startswith("其它"):
        for o, osq in opts_sq:
            if osq == "其他":
                return o
    return None


def _find_options(sq: str, opts_sq: list[tuple[str, str]]) -> set[str]:
    found: set[str] = set()
    # longest first so that one option text inside another is not double-read
    for o, osq in sorted(opts_sq, key=lambda x: -len(x[1])):
        if osq and osq in sq:
            found.add(o)
            sq = sq.replace(osq, "\x00")
    return found
