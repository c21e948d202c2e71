"""Values read by OCR that fail their format check: say it may be a recognition error, and show the
look-alike corrections (O/0, I/1, S/5, B/8, Z/2) that would make the value valid. Never change it."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

from formintake.findings import RULES
from formintake.models import FieldValue

LOOK_ALIKE = {"O": "0", "0": "O", "D": "0", "Q": "0", "I": "1", "1": "I", "L": "1", "l": "1", "|": "1",
              "S": "5", "5": "S", "B": "8", "8": "B", "Z": "2", "2": "Z", "G": "6", "6": "G"}
MAX_CANDIDATES = 3


def from_ocr(fv: FieldValue | None) -> bool:
    return fv is not None and fv.evidence is not None and fv.evidence.method == "ocr"


def ocr_candidates(value: str, valid: Callable[[str], bool], limit: int = MAX_CANDIDATES) -> list[str]:
    """Values one (else two) look-alike substitutions away from ``value`` that ``valid`` accepts."""
    spots = [i for i, ch in enumerate(value) if ch in LOOK_ALIKE][:24]
    found: list[str] = []
    for n in (1, 2):
        for idx in combinations(spots, n):
            chars = list(value)
            for i in idx:
                chars[i] = LOOK_ALIKE[chars[i]]
            cand = "".join(chars)
            if cand != value and cand not in found and valid(cand):
                found.append(cand)
                if len(found) >= limit:
                    return found
        if found:
            break
    return found


def ocr_note(value: str, valid: Callable[[str], bool]) -> str:
    """The sentence added to a format finding on an OCR'd value (texts: FILE_OCR_USED's in the catalogue)."""
    cands = ocr_candidates(value, valid)
    if cands:
        return RULES["FILE_OCR_USED"].text("value.candidates_note", None, candidates="、".join(f"“{c}”" for c in cands))
    return RULES["FILE_OCR_USED"].text("value.note", None)
