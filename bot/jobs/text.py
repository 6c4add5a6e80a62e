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
