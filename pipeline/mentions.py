"""Deterministic finders for what a list of known names can find better than a small model: skills, and the
region or employer a pay figure concerns (credentials and claims have their own modules, pipeline.credentials
and pipeline.claims).

Every mention comes with its exact span in the clean text, so it is grounded by construction. The model's own
lists (see `pipeline.extract`) are added to these, never replaced by them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale

from pipeline.vocab import alternation, any_of, vocabulary
from schemas.records import Skill, SkillCategory

_VOCAB = vocabulary()  # pipeline/vocabulary/skills.toml, regions.toml, cues.toml
_CUES = _VOCAB.cues

# name → category; matched case-insensitively on word boundaries. Aliases map to the canonical name.
SKILLS: dict[str, SkillCategory] = {name: SkillCategory(c) for name, c in _VOCAB.skills.category().items()}
SKILL_ALIASES: dict[str, str] = dict(_VOCAB.skills.aliases)
# Words that case-sensitive short names must appear as (so "go" the verb and "R" the letter stay out).
_CASE_SENSITIVE = frozenset(_VOCAB.skills.case_sensitive)


_REGION_RES = {
    name: re.compile(rf"(?<![\w])(?:{alternation(names)})") for name, names in _VOCAB.regions.regions.items()
}
# Every other country by its English name (CLDR, through Babel): a guide to pay in Georgia or Kenya names a region
# the vocabulary does not list. Names that are also everyday words or first names are left out (not_countries).
_LISTED = {word for name, words in _VOCAB.regions.regions.items() for word in (name, *words)}
_COUNTRY_NAMES = [
    name
    for code, name in Locale("en").territories.items()
    if len(code) == 2 and code.isalpha() and name not in _LISTED and name not in _VOCAB.regions.not_countries
]
_COUNTRY = re.compile(rf"(?<![\w])(?:{alternation(_COUNTRY_NAMES)})(?![\w])")
_EMPLOYER = re.compile(rf"\b{any_of(_CUES.employers)}\b", re.I)

_ROLE_LEVELS = frozenset(word.casefold() for word in _CUES.role.levels)
_ROLE = re.compile(
    rf"\b(?:(?:{alternation([*_CUES.role.levels, *_CUES.role.qualifiers])})\s+)?"
    rf"{any_of(_CUES.role.fields)}\s+{any_of(_CUES.role.jobs)}\b",
    re.I,
)


def find_role(*texts: str) -> str | None:
    """The job title a pay figure is for, e.g. 'AI engineer', from the first text that names one."""
    for text in texts:
        match = _ROLE.search(text or "")
        if match:
            words = match.group(0).split()
            if words[0].casefold() in _ROLE_LEVELS:
                words = words[1:]  # the level has its own column
            return " ".join(w if w.isupper() else w.lower() for w in words).removesuffix("s")
    return None


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


_SKILL_BEFORE, _SKILL_AFTER = r"(?<![\w+#&-])(", r")(?![\w+#&]|-\w)"


def _skill_pattern() -> re.Pattern:
    """Any known skill or alias, the longest that fits at a position, as a trie of their lower-case letters.

    It matches what the plain alternation of every name (longest first) matches, and is ~3× faster: the plain
    one tries ~80 names at each word, a trie only the names that share what was read so far."""
    return re.compile(
        _SKILL_BEFORE + literal_trie({n.lower() for n in (*SKILLS, *SKILL_ALIASES)}) + _SKILL_AFTER, re.IGNORECASE
    )


def literal_trie(words: set[str]) -> str:
    """A regex matching any of `words` (literally), longest first: their trie, each branch tried before the
    word that ends where it starts."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def pattern(node: dict) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            branches.append("")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(root)


_SKILL_RE = _skill_pattern()
_CANONICAL = {name.casefold(): name for name in SKILLS} | {k: v for k, v in SKILL_ALIASES.items()}


def canonical_skill(name: str) -> str | None:
    """The canonical spelling of a known skill or alias, else None."""
    return _CANONICAL.get(name.strip().casefold())


def skill_category(name: str) -> SkillCategory:
    canonical = canonical_skill(name)
    if canonical is not None:
        return SKILLS[canonical]
    return SkillCategory.practice if name[:1].islower() and " " in name else SkillCategory.tool


def find_skills(text: str) -> list[Skill]:
    """Known skills named in the text, first mention of each, named and quoted as written (see pipeline.resolve)."""
    found: dict[str, Skill] = {}
    for match in _SKILL_RE.finditer(text):
        written = match.group(1)
        canonical = canonical_skill(written)
        if canonical is None or canonical in found:
            continue
        if (canonical in _CASE_SENSITIVE or written.casefold() in {"go", "r"}) and written != canonical:
            continue
        found[canonical] = Skill(name=written, category=SKILLS[canonical], quote=written)
    return list(found.values())


def find_region(*texts: str) -> str | None:
    """The first region named in the given texts, tried in order (the figure's clause, then its context)."""
    for text in texts:
        hits = [(m.start(), name) for name, rx in _REGION_RES.items() if (m := rx.search(text or ""))]
        if country := _COUNTRY.search(text or ""):
            hits.append((country.start(), country[0]))
        if hits:
            return min(hits)[1]
    return None


def regions_named(text: str) -> set[str]:
    """Every region the text names, for a page that must name exactly one."""
    return {name for name, rx in _REGION_RES.items() if rx.search(text)} | set(_COUNTRY.findall(text))


def employers_named(text: str) -> set[str]:
    """Every kind of employer the text names ("startups", "big tech"), for a page that must name exactly one."""
    return {match.group(0).casefold() for match in _EMPLOYER.finditer(text)}


def find_employer(*texts: str) -> str | None:
    for text in texts:
        match = _EMPLOYER.search(text or "")
        if match:
            return match.group(0)
    return None
