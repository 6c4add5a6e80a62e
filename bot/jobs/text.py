"""Japanese text made comparable: NFKC (全角/半角), lower case, and katakana folded into hiragana."""
from __future__ import annotations

import unicodedata

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}


def fold(text: str) -> str:
    """The form both the index and the query use: 'ｶﾝｺﾞ' 'カンゴ' 'かんご' all become 'かんご'."""
    return unicodedata.normalize("NFKC", text or "").lower().translate(_KATAKANA_TO_HIRAGANA)


def searchable(occupation: str, description: str, company_name: str) -> str:
    """What free words are matched against: occupation, job description and company name."""
    return "\n".join(fold(part) for part in (occupation, description, company_name))


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "ー"


def bigrams(folded: str) -> str:
    """The distinct two-character pieces of the words in already-folded text, space-separated.

    Japanese words are often two characters (介護, 事務, 調理), too short for a trigram index; an index
    over these pieces serves them instead."""
    seen: dict[str, None] = {}
    run = []
    for ch in folded + " ":
        if _is_word_char(ch):
            run.append(ch)
            continue
        for i in range(len(run) - 1):
            seen.setdefault(run[i] + run[i + 1], None)
        run = []
    return " ".join(seen)
