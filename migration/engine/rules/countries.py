"""Country text -> ISO 3166 alpha-2 (pycountry) and -> dual-write's value-map text."""

from __future__ import annotations

from functools import lru_cache

# The order/quote maps' value map: F&O ISO code <-> Dataverse text (reference.md,
# mapping-reference.md). "columbia" is Microsoft's spelling.
DUALWRITE_TEXT: dict[str, str] = {
    "US": "united states", "DE": "germany", "FR": "france", "GB": "united kingdom", "JP": "japan",
    "IN": "india", "ES": "spain", "NZ": "new zealand", "AU": "australia", "CO": "columbia",
    "ZA": "south africa", "BE": "belgium", "CA": "canada", "AT": "austria", "TR": "türkiye",
    "CN": "china", "DK": "denmark", "SE": "sweden", "NO": "norway", "FI": "finland", "EG": "egypt",
}  # fmt: skip

# Names people type that pycountry's official and common names do not cover.
ALIASES: dict[str, str] = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "turkey": "TR", "russia": "RU", "south korea": "KR", "korea": "KR", "vietnam": "VN",
    "czech republic": "CZ", "holland": "NL", "the netherlands": "NL", "columbia": "CO",
    "iran": "IR", "taiwan": "TW", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "moldova": "MD", "syria": "SY", "laos": "LA", "macedonia": "MK", "ivory coast": "CI",
}  # fmt: skip


@lru_cache(maxsize=4096)
def to_iso2(text: str) -> str | None:
    key = " ".join(text.split()).casefold()
    if not key:
        return None
    if key in ALIASES:
        return ALIASES[key]
    if key in {v for v in DUALWRITE_TEXT.values()}:
        return next(k for k, v in DUALWRITE_TEXT.items() if v == key)
    import pycountry  # late: its import costs ~50 ms of every command's start-up

    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


def to_dualwrite(text: str) -> str | None:
    code = to_iso2(text)
    return DUALWRITE_TEXT.get(code) if code else None
