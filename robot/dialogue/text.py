"""Text helpers of the dialogue: normalisation for matching and reading codes aloud.

Matching works on a folded form of the text: lower case, Vietnamese diacritics removed
(đ -> d), punctuation turned into spaces. A visitor who types without diacritics and a
recogniser that drops them therefore meet the same keywords. Pure functions, no state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_DIACRITIC_CHARS = re.compile(r"[^\x00-\x7f]")


def strip_diacritics(text: str) -> str:
    """ "Số thứ tự" -> "So thu tu"; đ/Đ are letters of their own, not marked d's."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """The matching form: lower case, no diacritics, words separated by one space."""
    folded = strip_diacritics(unicodedata.normalize("NFC", text).lower())
    return " ".join(_NON_WORD.sub(" ", folded).split()).replace("_", " ").strip()


def tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(text).split())


def has_vietnamese_marks(text: str) -> bool:
    """True when the text carries letters outside ASCII that fold away (Vietnamese marks)."""
    return any(_DIACRITIC_CHARS.match(ch) and strip_diacritics(ch) != ch for ch in text)


def read_code(code: str, digits: Sequence[str], letters: Mapping[str, str], separator: str) -> str:
    """Spell a ticket number or code one character at a time: "A042" -> "A, không, bốn, hai".

    Speech engines garble long numbers (espeak-ng's Vietnamese voice clips them), and a
    visitor copies a code more easily character by character. Characters other than
    letters and digits (hyphens) are dropped.
    """
    spoken = []
    for ch in code.upper():
        if ch.isdigit():
            spoken.append(digits[int(ch)])
        elif ch.isalpha():
            spoken.append(letters.get(ch, ch))
    return separator.join(spoken)
