"""What the model is asked and what it may answer: the prompt, the response schema of one excerpt, and the
check that every phrase it copies is in the article.

The schema has one required reading per tagged figure, so a constrained decoder cannot skip one, then short
lists of credentials, skills and claims. A phrase that is not in the article is sent back to the model as a
validation error; on the last attempt it is dropped and counted instead. The check is a `QuoteCheck` object
handed to instructor with each call (its `context=`), so one call's article never leaks into another's.
"""

from __future__ import annotations

import functools
from typing import Annotated

import instructor
from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, create_model, model_validator

from db.kinds import list_caps
from pipeline.claims import claim_reading
from pipeline.ground import FoldedText, locate
from schemas.records import FigureReading

PROMPT_VERSION = "2026-12-07.1"

SYSTEM_PROMPT = (
    "You read lines of an article about AI-engineering careers. Each money figure is tagged [M1], [M2], ... "
    "right before it. Answer in JSON. For every tag give kind: pay only when the text says it is what someone "
    "is paid for a job (salary, wage, day or hourly rate, compensation); bonus (bonus, sign-on, equity or "
    "retention grant, stipend, allowance); change (a raise, an increase, a difference or gap between pays); cost "
    "(what a thing costs: rent, compute, insurance, tickets); company (company or public money: funding, "
    "budgets, government programmes); threshold (a tax band, visa minimum, survey cut-off or other limit); "
    "price, fee (exam or certification fee), tuition, revenue or other; when unsure, not pay. And give level: "
    "intern, entry, junior, mid, senior, staff, lead, principal, executive or unspecified.\n"
    "Then list certifications, skills and claims named in these lines, each copied exactly as written "
    "(short phrases, no tags); a claim is a market figure (growth, premium, demand, share), listed with what it "
    "measures and whom it is about; use empty lists when there are none."
)
# The lists the model may add to, and how long each may be: each record kind's cap, declared in its registry entry
# (db/kinds.py), in the registry's order, which is also the order of the lists in the response schema.
MAX_LIST = list_caps()

# The user message is this template, the excerpt a variable of it: instructor renders messages as Jinja
# templates when a call has a context, and an article's own "{{ … }}" or "{% … %}" must reach the model as written.
EXCERPT_TEMPLATE = "{{ excerpt }}"
EXAMPLES_TEMPLATE = "{{ examples }}"  # reviewed figures like the excerpt's (pipeline.examples), when offered


class QuoteCheck:
    """The article one call's phrases are checked against, and what the check did (attempts, drops)."""

    def __init__(self, article: str, folded: FoldedText, max_retries: int):
        self.article = article
        self.folded = folded
        self.max_retries = max_retries
        self.validations = 0
        self.dropped = 0

    def context(self, excerpt: str) -> dict:
        """instructor's `context=` for a call: this check, and the excerpt for the user message template."""
        return {"quote_check": self, "excerpt": excerpt}

    def __call__(self, reading: BaseModel) -> BaseModel:
        """Re-ask when a phrase is not in the article; on the last attempt drop the bad phrases instead."""
        self.validations += 1
        last = self.validations > self.max_retries
        bad = []
        for name in MAX_LIST:
            items = getattr(reading, name)
            kept = [item for item in items if locate(self.article, _words(item), folded=self.folded)]
            bad += [item for item in items if item not in kept]
            if last:
                setattr(reading, name, kept)
        if bad and not last:
            listed = "; ".join(repr(_words(q)[:120]) for q in bad[:5])
            raise ValueError(f"these phrases are not in the article: {listed}. Copy each one exactly from the lines")
        self.dropped = len(bad)
        return reading


def _words(item: str | BaseModel) -> str:
    """The words a listed item copies: the phrase itself, or a claim's quote."""
    return item if isinstance(item, str) else item.quote


def _check_quotes(reading: BaseModel, info: ValidationInfo) -> BaseModel:
    """Run the call's QuoteCheck, when it has one (a reading validated outside a call is taken as it is)."""
    check = (info.context or {}).get("quote_check")
    return reading if check is None else check(reading)


@functools.lru_cache(maxsize=256)
def reading_model(tags: tuple[str, ...]) -> type[BaseModel]:
    """The response schema for one chunk: one required reading per tagged figure, then the lists.

    Making every tag a required field means a constrained decoder cannot skip a figure, which small models
    otherwise do when asked for "all salaries". One class per shape, made ready for instructor here: a new
    class per call cost pydantic a model build, and instructor a wrapper class and a JSON schema, every call.
    """
    fields: dict = {}
    if tags:
        fields["figures"] = (create_model("Figures", **{tag: (FigureReading, ...) for tag in tags}), ...)
    for name, most in MAX_LIST.items():
        phrase = Annotated[str, StringConstraints(min_length=2, max_length=300)]
        item = claim_reading() if name == "claims" else phrase  # a claim comes with its metric and subject
        fields[name] = (list[item], Field(default_factory=list, max_length=most))
    model = create_model(
        "ChunkReading",
        __doc__="What the excerpt says: each tagged money figure, then credentials, skills and claims.",
        __validators__={"quotes": model_validator(mode="after")(_check_quotes)},
        **fields,
    )
    return instructor.response_schema(model)  # what instructor would wrap it in on every call otherwise
