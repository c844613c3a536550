"""Word-level helpers shared by the simulator's rules: words, light stemming, stopwords, sentences, language.

Everything here is a plain function of its input, so the rules built on it stay deterministic."""

from __future__ import annotations

import re


def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+")

# Words that carry no topic: articles, pronouns, auxiliaries, prepositions, question words, politeness.
STOPWORDS = wordset("""
    a an the and or but if then so than that this these those there here it its it's i me my mine we us our
    you your yours he him his she her they them their what which who whom whose when where why how
    is are was were be been being am do does did done doing have has had having can could will would shall
    should may might must of in on at to from by for with about as into onto over under up down out off
    not no yes any some all each every both few more most other such only own same too very just also now
    please tell show give let help need want like know think get got make thanks thank hi hello hey ok okay
    today right again still even ever
    """)

QUESTION_WORDS = wordset(
    "what which who whom whose when where why how is are was were do does did can could will would "
    "should may might has have had"
)
REQUEST_VERBS = wordset(
    "tell explain describe summarize summarise find search list show quote cite look give"
)
_KOREAN_QUESTION = re.compile(r"(까요|나요|가요|니까|니|죠|래요)\s*[?？]?\s*$")


def words(text: str) -> list[str]:
    """Words in order, original case, possessive 's removed ("Odile's" -> "Odile")."""
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0)
        if w[-2:].lower() in ("'s", "’s"):
            w = w[:-2]
        out.append(w)
    return out


def stem(word: str) -> str:
    """Lower-case and strip a few English suffixes so that "working" meets "work" and "cities" meets "city".
    Deliberately crude: both sides of every comparison go through the same function."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suffix in ("ing", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)]
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # "jammed" -> "jamm" -> "jam"
            return w
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def content_terms(text: str) -> list[str]:
    """Stems of the words that are not stopwords, first occurrence order, without repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w.lower() not in STOPWORDS:
            seen.setdefault(stem(w), None)
    return list(seen)


def split_identifier(name: str) -> list[str]:
    """`get_current_weather` / `getCurrentWeather` -> ["get", "current", "weather"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split() if w]


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, whitespace normalised; Markdown headings and blank lines end a sentence."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("#")]
        joined = " ".join(" ".join(lines).split())
        out.extend(s.strip() for s in _SENTENCE_END.split(joined) if s.strip())
    return out


def has_hangul(text: str) -> bool:
    return bool(_HANGUL.search(text))


def is_question(text: str) -> bool:
    """A question or a request for information: a question mark, a leading question word or request verb,
    or a Korean question ending."""
    stripped = text.strip()
    if "?" in stripped or "？" in stripped or _KOREAN_QUESTION.search(stripped):
        return True
    first = next(iter(words(stripped)), "").lower()
    return first in QUESTION_WORDS or first in REQUEST_VERBS
