"""Entity resolution: one entity per skill or credential, whatever a page calls it.

"RAG" and "retrieval-augmented generation" are one skill; "Azure AI Engineer (AI-102)" and "Microsoft Certified:
Azure AI Engineer Associate" are one credential. A mention keeps the words its page used (and its span); the
save stage points it at the entity this module names, so lineage from page wording to entity is never lost.
Identity is a normalised key, computed the same way in every process, so documents ingested by different
workers land on the same entity.
"""

from __future__ import annotations

import re

from pipeline.credentials import canonical_certification, cert_key, issuer_of
from pipeline.mentions import SKILL_ALIASES, SKILLS, skill_category
from schemas.records import EntityRef

_SEPARATORS = re.compile(r"[\s\-_/.]+")


def resolve(kind: str, written: str) -> EntityRef:
    """The entity a skill or credential named `written` belongs to."""
    if kind == "certification":
        name = canonical_certification(written)
        return EntityRef(kind, cert_key(name), name, issuer=issuer_of(written))
    if kind == "skill":
        name = _KNOWN_SKILLS.get(skill_key(written)) or " ".join(written.split())
        category = SKILLS[name].value if name in SKILLS else skill_category(written).value
        return EntityRef(kind, skill_key(name), name, category=category)
    raise ValueError(f"no entities of kind {kind!r}: only skills and certifications are resolved")


def skill_key(name: str) -> str:
    """Case, hyphens, slashes and spacing do not make two skills: 'fine-tuning' ≡ 'Fine tuning'."""
    return _SEPARATORS.sub(" ", name.casefold()).strip()


_KNOWN_SKILLS = {skill_key(name): name for name in SKILLS} | {skill_key(a): name for a, name in SKILL_ALIASES.items()}
