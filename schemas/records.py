"""The typed records career-kb keeps: the contract with the LLM and with the database layer.

Field descriptions are read by the model (they become the JSON schema it is constrained to), so they say
what belongs in each field in words a small model can follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from babel.numbers import list_currencies
from pydantic import BaseModel, Field, field_validator, model_validator


class Level(str, Enum):
    intern = "intern"
    entry = "entry"
    junior = "junior"
    mid = "mid"
    senior = "senior"
    staff = "staff"
    lead = "lead"
    principal = "principal"
    executive = "executive"
    unspecified = "unspecified"


class Period(str, Enum):
    year = "year"
    month = "month"
    week = "week"
    day = "day"
    hour = "hour"


class Statistic(str, Enum):
    """Which figure of a distribution a table column states ("Median base", "P90", "Range")."""

    median = "median"
    mean = "mean"
    p10 = "p10"
    p25 = "p25"
    p75 = "p75"
    p90 = "p90"
    p25_p75 = "p25_p75"  # a range cell under "P25 – P75": its bounds are the two quartiles
    p10_p90 = "p10_p90"
    min = "min"
    max = "max"
    range = "range"


class PayBasis(str, Enum):
    base = "base"
    total = "total"
    unspecified = "unspecified"


class SkillCategory(str, Enum):
    language = "language"
    framework = "framework"
    tool = "tool"
    platform = "platform"
    practice = "practice"
    soft = "soft"


class AsOfSource(str, Enum):
    """Where a record's as_of came from: its own words or its section's, else the page's dates."""

    text = "text"
    published = "published"
    fetched = "fetched"


class Dated(BaseModel):
    """The time a figure refers to, set by the deterministic as_of reader (pipeline.asof), never by the model."""

    as_of_year: int | None = Field(None, ge=1900, le=2100, description="Year the figure refers to")
    as_of_month: int | None = Field(None, ge=1, le=12, description="Month the figure refers to, when stated")
    as_of_source: AsOfSource | None = Field(None, description="text, published or fetched")


def _iso_currency(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in list_currencies():  # every ISO 4217 code, from Babel's copy of CLDR (a maintained list)
        raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD, EUR, GBP or INR")
    return code


class Salary(Dated):
    """One pay figure (a range or a single amount) for a kind of job, as the article states it."""

    role: str | None = Field(None, description="Job title the pay is for, e.g. 'AI engineer'")
    level: Level = Field(Level.unspecified, description="Seniority the pay is for")
    years_min: float | None = Field(None, ge=0, le=60, description="Fewest years of experience named")
    years_max: float | None = Field(None, ge=0, le=60, description="Most years of experience named")
    region: str | None = Field(None, description="Country, city or region the pay applies to, e.g. 'US'")
    employer: str | None = Field(None, description="Kind of employer, e.g. 'big tech', 'startup'")
    currency: str = Field(description="ISO 4217 code, e.g. USD, GBP, EUR, INR")
    period: Period = Field(Period.year, description="What one amount pays for: year, month, week, day, hour")
    amount_min: float | None = Field(None, gt=0, description="Lower bound in whole currency units")
    amount_max: float | None = Field(None, gt=0, description="Upper bound in whole currency units")
    open_ended: bool = Field(False, description="True when the figure has no upper end, as in '$200,000+'")
    pay_basis: PayBasis = Field(PayBasis.unspecified, description="base salary, or total compensation")
    quote: str = Field(description="The exact words of the article that state this pay, copied verbatim")
    header_quote: str | None = Field(
        None,
        description="For a figure in a table cell: the header (and caption) that gives the cell its currency, "
        "multiplier and period, copied verbatim",
    )
    header_start: int | None = Field(None, ge=0, description="Where header_quote starts in the article text")
    header_end: int | None = Field(None, ge=0, description="Where header_quote ends in the article text")
    statistic: Statistic | None = Field(
        None, description="For a figure in a table column: the statistic its header names (median, p90, range...)"
    )

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str | None:
        return _iso_currency(value)

    @model_validator(mode="after")
    def _bounds(self) -> Salary:
        if self.amount_min is None and self.amount_max is None:
            raise ValueError("a salary needs amount_min or amount_max")
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError("amount_min is larger than amount_max")
        if self.years_min is not None and self.years_max is not None and self.years_min > self.years_max:
            raise ValueError("years_min is larger than years_max")
        return self


class Skill(BaseModel):
    """A skill, language, framework, tool or practice the article says the job needs."""

    name: str = Field(min_length=1, max_length=80, description="Short name, e.g. 'Python', 'RAG'")
    category: SkillCategory = Field(description="language, framework, tool, platform, practice or soft")
    quote: str = Field(description="The exact words of the article that mention it, copied verbatim")


class Certification(BaseModel):
    """A named professional credential (certificate, certification, exam)."""

    name: str = Field(min_length=2, max_length=120, description="Credential name as written")
    issuer: str | None = Field(None, description="Who grants it, e.g. 'AWS', 'Microsoft', 'Google Cloud'")
    cost_amount: float | None = Field(None, gt=0, description="Exam or course price, if stated")
    cost_currency: str | None = Field(None, description="ISO 4217 code of the cost")
    quote: str = Field(description="The exact words of the article that name it, copied verbatim")

    @field_validator("cost_currency")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return _iso_currency(value)


class Direction(str, Enum):
    up = "up"
    down = "down"
    none = "none"


class Claim(Dated):
    """A market fact stated with a number: what it measures, about whom, the figure, its unit, years and source.

    The numbers, unit, direction, years, region and attribution are read from the quote by code
    (pipeline.claims); `metric` is one of the metrics of pipeline/vocabulary/claims.toml."""

    metric: str = Field(pattern=r"^[a-z][a-z_]*$", description="What the figure measures, e.g. 'salary_growth'")
    subject: str | None = Field(None, max_length=120, description="Whom it is about, e.g. 'AI engineers'")
    value: float = Field(description="The figure as written (the lower end of a range)")
    value_max: float | None = Field(None, description="The upper end of a range such as '20-30%'")
    unit: str | None = Field(None, description="percent, multiple, count, weeks, ...")
    direction: Direction = Field(Direction.none, description="up, down or none")
    start_year: int | None = Field(None, ge=1900, le=2100, description="First year of the span it covers")
    end_year: int | None = Field(None, ge=1900, le=2100, description="Last year of the span it covers")
    region: str | None = Field(None, description="Country or region it concerns, e.g. 'US'")
    attribution: str | None = Field(None, max_length=120, description="Who says so, e.g. 'LinkedIn'")
    statement: str = Field(min_length=5, description="The sentence that states it")
    quote: str = Field(description="The exact words of the article that make it, copied verbatim")

    @model_validator(mode="after")
    def _ordered(self) -> Claim:
        if self.value_max is not None and self.value_max < self.value:
            raise ValueError("value_max is smaller than value")
        if self.start_year is not None and self.end_year is not None and self.start_year > self.end_year:
            raise ValueError("start_year is after end_year")
        return self


class FigureKind(str, Enum):
    pay = "pay"
    bonus = "bonus"
    change = "change"
    cost = "cost"
    company = "company"
    threshold = "threshold"
    price = "price"
    fee = "fee"
    tuition = "tuition"
    revenue = "revenue"
    other = "other"


class FigureReading(BaseModel):
    """What one tagged money figure is and, when it is pay, for which level. Numbers are read by code, not here."""

    kind: FigureKind = Field(
        description="pay = what someone is paid for a job: salary, wage, day or hourly rate, compensation; "
        "bonus = a bonus, sign-on, equity or retention grant, stipend or allowance; change = a raise, increase, "
        "difference or gap between two pays; cost = what a thing costs (rent, compute, insurance, tickets); "
        "company = company or public money (funding, budgets, government programmes); threshold = a limit or "
        "cut-off (tax band, visa minimum, survey cut-off); price = what a course, book or product costs; "
        "fee = exam or certification fee; tuition = degree or bootcamp cost; revenue = company revenue, market "
        "size; other = anything else"
    )
    level: Level = Field(Level.unspecified, description="Seniority the pay is for, if the text says")


@dataclass(frozen=True)
class EntityRef:
    """What a mention resolves to: the entity's identity (kind, key) and how to show it."""

    kind: str  # "skill" | "certification"
    key: str
    name: str
    category: str | None = None
    issuer: str | None = None
