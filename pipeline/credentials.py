"""Credentials: finding their whole names in text, and saying which credential and which issuer a name means.

A credential's name is a run of capitalised words opened by its issuer or a word like "Certified" ("Google
Professional Machine Learning Engineer", "Microsoft's Azure AI Engineer Associate (exam AI-102)"), so it is read
as such a run and cut where the name ends, not at the first credential word. Two names are one credential when
they share an exam code or a key: the name without case, filler words and the issuer's own name, behind the
issuer of its family ("Google Professional ML Engineer" ≡ "Google Cloud Professional Machine Learning
Engineer"). Every word list, family and known credential is in pipeline/vocabulary/certifications.toml.
"""

from __future__ import annotations

import re

from pipeline.vocab import Family, alternation, any_of, vocabulary
from schemas.records import Certification

_CERTS = vocabulary().certifications
_CREDENTIAL_WORDS = frozenset(_CERTS.credential_words)
_ENDING_WORDS = _CREDENTIAL_WORDS | frozenset(_CERTS.role_words)
_OPENERS = [w for f in _CERTS.family for w in (*f.names, *f.products)] + _CERTS.opening_words
# Words that say who grants a credential, not what it is about (filler words neither: see `_NOISE`).
_ISSUER_WORDS = frozenset(w for opener in _OPENERS for w in opener.split())

# A word of a name: capitalised, an acronym or a number ("Azure", "LLMs", "2025", "DeepLearning.AI").
_WORD = r"[A-Z0-9](?:[\w+&/]|\.(?=\w))*"
# Between two words of a name, never across lines: spaces, a colon or dash, a possessive ("Microsoft's Azure").
_GAP = r"(?:[^\S\n]*[:–-][^\S\n]*|['’]s[^\S\n]+|[^\S\n]+)"
_RUN = re.compile(rf"(?<![\w.-])(?:{alternation(_OPENERS, edge=False)})(?![a-z])(?:{_GAP}{_WORD}){{0,12}}")
_CODE_SHAPE = r"[A-Z][A-Z0-9]{1,4}(?:-[A-Z0-9]{2,5})?"  # "AI-102", "MLS-C01", "HCIA-AI", "CKA"
_BRACKETED_CODE = re.compile(rf"[^\S\n]*\((?:exam\s+)?({_CODE_SHAPE})\)")
_HYPHENATED_CODE = re.compile(r"\b[A-Z][A-Z0-9]{1,4}-[A-Z0-9]{2,5}\b")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]+s?")  # "AI", "LLMs": a subject a name may end on

_BRACKETS = re.compile(r"\([^)]*\)")
_POSSESSIVE = re.compile(r"['’]s\b")
_NOISE = re.compile(rf"\b{any_of(_CERTS.filler_words)}\b|[^\w\s]", re.I)
_ABBREVIATIONS = {short.casefold(): long for short, long in _CERTS.abbreviations.items()}
_ABBREVIATION = re.compile(rf"\b(?:{alternation(_CERTS.abbreviations, edge=False)})\b", re.I)


def find_certifications(text: str) -> list[Certification]:
    """Credentials named in the text, first mention of each, named and quoted as written (see pipeline.resolve)."""
    found: dict[str, Certification] = {}
    for run in _RUN.finditer(text):
        span = _name_span(text, run)
        if span is None:
            continue
        name = text[span[0] : span[1]]
        found.setdefault(name.casefold(), Certification(name=name, issuer=issuer_of(name), quote=name))
    return list(found.values())


def _name_span(text: str, run: re.Match) -> tuple[int, int] | None:
    """Where the credential of a run of name words ends: after a code in brackets that follows the run, else at
    its last credential word, role word or acronym. None when the run names no credential or no subject."""
    words = [(w.group(), run.start() + w.end()) for w in re.finditer(_WORD, run.group())]
    code = _BRACKETED_CODE.match(text, run.end())
    if code:
        end = code.end()
    else:
        end = max((e for w, e in words if w in _ENDING_WORDS or _ACRONYM.fullmatch(w)), default=run.start())
    named = [w for w, e in words if e <= end]
    subject = [w for w in named if w not in _ISSUER_WORDS and not _NOISE.fullmatch(w)]
    if not (code or _CREDENTIAL_WORDS & set(named)) or not subject:
        return None
    return run.start(), end


def family_of(name: str) -> Family | None:
    """The family of a credential: the first whose names or products the name contains (and its `needs`)."""
    return next(
        (f for f, opens, needs in _FAMILIES if opens.search(name) and (needs is None or needs.search(name))), None
    )


def _words_pattern(words: list[str]) -> re.Pattern | None:
    return re.compile(rf"(?<!\w)(?:{alternation(words, edge=False)})(?!\w)", re.I) if words else None


_FAMILIES = [(f, _words_pattern([*f.names, *f.products]), _words_pattern(f.needs)) for f in _CERTS.family]


def cert_key(name: str) -> str:
    """A credential's identity: its family's issuer, then its words without case, punctuation, brackets, filler
    words (Certified, exam, Associate ...) and the issuer's own name; short forms spelled out ("ML")."""
    text = _POSSESSIVE.sub("", _BRACKETS.sub(" ", _HYPHENATED_CODE.sub(" ", name)))
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group().casefold()], text)
    words = _NOISE.sub(" ", text.casefold()).split()
    family = family_of(name)
    if family is None:
        return " ".join(words)
    own_names = [n.casefold().split() for n in sorted(family.names, key=len, reverse=True)]
    while stripped := next((n for n in own_names if words[: len(n)] == n), None):
        words = words[len(stripped) :]
    return " ".join([*family.issuer.casefold().split(), *words])


_KNOWN = {c.name: c for c in _CERTS.certification}
_KEY_INDEX = {cert_key(alias): c.name for c in _CERTS.certification for alias in (c.name, *c.aliases)}
_CODE_INDEX = {alias: c.name for c in _CERTS.certification for alias in c.aliases if re.fullmatch(_CODE_SHAPE, alias)}


def codes_in(name: str) -> list[str]:
    """Exam codes a name writes: hyphenated anywhere ("AI-102"), others in brackets ("(CKA)"), or the whole name."""
    whole = [name.strip()] if re.fullmatch(_CODE_SHAPE, name.strip()) else []
    return _HYPHENATED_CODE.findall(name) + [m.group(1) for m in _BRACKETED_CODE.finditer(name)] + whole


def canonical_certification(name: str) -> str:
    """One name per credential: 'Azure AI Engineer (AI-102)' → 'Microsoft Certified: Azure AI Engineer Associate'.

    A known exam code decides first, then the key; an unknown credential keeps its own name, tidily spaced.
    """
    code = next((c for c in codes_in(name) if c in _CODE_INDEX), None)
    if code is not None:
        return _CODE_INDEX[code]
    return _KEY_INDEX.get(cert_key(name), " ".join(name.split()).strip(" -–:"))


def issuer_of(name: str) -> str | None:
    """Who grants a credential: the issuer its known entry names, else that of its family (certifications.toml)."""
    canonical = canonical_certification(name)
    known = _KNOWN.get(canonical)
    if known is not None and known.issuer is not None:
        return known.issuer
    family = family_of(canonical) or family_of(name)
    return family.issuer if family is not None else None
