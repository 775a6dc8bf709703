"""Deterministic finders for what a list of known names can find better than a small model: skills,
certifications, claims with numbers, and the region or employer a pay figure concerns.

Every mention comes with its exact span in the clean text, so it is grounded by construction. The model's own
lists (see `pipeline.extract`) are added to these, never replaced by them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.records import Certification, Claim, Skill, SkillCategory

# name → category; matched case-insensitively on word boundaries. Aliases map to the canonical name.
SKILLS: dict[str, SkillCategory] = {
    **dict.fromkeys(
        ["Python", "Java", "C++", "JavaScript", "TypeScript", "Go", "Rust", "Scala", "SQL", "R", "Julia", "Bash"],
        SkillCategory.language,
    ),
    **dict.fromkeys(
        ["PyTorch", "TensorFlow", "Keras", "JAX", "scikit-learn", "LangChain", "LangGraph", "LlamaIndex", "CrewAI",
         "AutoGen", "Hugging Face", "Transformers", "FastAPI", "Spark", "DSPy", "vLLM", "Haystack", "Semantic Kernel"],
        SkillCategory.framework,
    ),
    **dict.fromkeys(
        ["Docker", "Kubernetes", "Git", "MLflow", "Weights & Biases", "Airflow", "Terraform", "pgvector", "Pinecone",
         "Qdrant", "Weaviate", "Chroma", "Milvus", "FAISS", "Elasticsearch", "Ollama", "Jupyter", "Databricks",
         "Snowflake", "vector databases"],
        SkillCategory.tool,
    ),
    **dict.fromkeys(
        ["AWS", "Azure", "Google Cloud", "GCP", "AWS Bedrock", "Amazon Bedrock", "SageMaker", "Azure AI Foundry",
         "Azure OpenAI", "Vertex AI", "OpenAI API"],
        SkillCategory.platform,
    ),
    **dict.fromkeys(
        ["retrieval-augmented generation", "prompt engineering", "fine-tuning", "embeddings", "evaluation",
         "MLOps", "LLMOps", "CI/CD", "machine learning", "deep learning", "natural language processing",
         "computer vision", "agentic workflows", "AI agents", "semantic search", "hybrid search", "data engineering",
         "system design", "statistics", "linear algebra", "guardrails", "observability"],
        SkillCategory.practice,
    ),
    **dict.fromkeys(["communication", "stakeholder management", "product sense", "problem solving"], SkillCategory.soft),
}
SKILL_ALIASES = {"rag": "retrieval-augmented generation", "llm evaluation": "evaluation", "evals": "evaluation",
                 "vector database": "vector databases", "vector db": "vector databases", "k8s": "Kubernetes",
                 "nlp": "natural language processing", "gcp vertex ai": "Vertex AI", "bedrock": "AWS Bedrock"}
# Words that case-sensitive short names must appear as (so "go" the verb and "R" the letter stay out).
_CASE_SENSITIVE = {"Go", "R", "Git", "JAX", "Spark", "Chroma"}

_CERT_WORDS = r"(?:Certified|Certification|Certificate|Associate|Professional|Practitioner|Specialty|Academy|Leader|Expert|Fundamentals)"
_VENDORS = r"(?:AWS|Amazon|Microsoft|Azure|Google(?: Cloud)?|GCP|NVIDIA|IBM|Oracle|Databricks|Snowflake|DeepLearning\.AI|LangChain|Anthropic|OpenAI|TensorFlow|Hugging Face|Salesforce|Cisco|CompTIA)"
_CERT = re.compile(
    rf"(?:Microsoft Certified:\s*)?\b{_VENDORS}\b[\w .:/&'’+–-]{{0,50}}\b{_CERT_WORDS}\b(?:\s*[-–:]\s*(?:Associate|Professional|Specialty))?"
    rf"(?:\s*\((?:[A-Z]{{2,4}}-\d{{2,4}}|[A-Z]{{2,5}})\))?"
    rf"|\b{_VENDORS}\b[\w .:/&'’+-]{{0,40}}?\((?:[A-Z]{{2,4}}-\d{{2,4}})\)",
)
# canonical credential → other ways articles name it (exam codes included); see `canonical_certification`.
CERTIFICATIONS: dict[str, tuple[str, ...]] = {
    "AWS Certified AI Practitioner": ("AWS AI Practitioner", "AIF-C01"),
    "AWS Certified Machine Learning Engineer – Associate": ("AWS ML Engineer Associate", "MLA-C01",
                                                            "AWS Machine Learning Engineer Associate"),
    "AWS Certified Machine Learning – Specialty": ("AWS Machine Learning Specialty", "MLS-C01"),
    "Microsoft Certified: Azure AI Engineer Associate": ("Azure AI Engineer", "AI-102"),
    "Microsoft Certified: Azure AI Fundamentals": ("Azure AI Fundamentals", "AI-900"),
    "Microsoft Certified: Azure Data Scientist Associate": ("Azure Data Scientist", "DP-100"),
    "Google Cloud Professional Machine Learning Engineer": ("Google Professional Machine Learning Engineer",
                                                            "GCP Professional ML Engineer"),
    "Google Cloud Generative AI Leader": ("Google Cloud GenAI Leader", "Google Generative AI Leader"),
    "NVIDIA-Certified Associate: Generative AI LLMs": ("NVIDIA Generative AI LLMs", "NCA-GENL"),
    "TensorFlow Developer Certificate": ("TensorFlow Developer",),
}
_NOISE = re.compile(r"\b(?:microsoft certified|certified|certification|certificate|exam|associate|the)\b|[^\w\s]", re.I)
_EXAM_CODE = re.compile(r"\b([A-Z]{2,4}-[A-Z]?\d{2,3}[A-Z]?\d?)\b")


def cert_key(name: str) -> str:
    """A credential's name without case, punctuation and filler words (Certified, exam, Associate ...)."""
    return " ".join(_NOISE.sub(" ", name.casefold().replace("ml", "machine learning")).split())


_CERT_INDEX = {
    cert_key(alias): canonical for canonical, aliases in CERTIFICATIONS.items() for alias in (canonical, *aliases)
} | {alias.upper(): canonical for canonical, aliases in CERTIFICATIONS.items() for alias in aliases
     if _EXAM_CODE.fullmatch(alias)}


def canonical_certification(name: str) -> str:
    """One name per credential: 'Azure AI Engineer (AI-102)' → 'Microsoft Certified: Azure AI Engineer Associate'.

    Exam codes decide first, then the name without filler words; an unknown credential keeps its own name.
    """
    code = _EXAM_CODE.search(name)
    if code and code.group(1).upper() in _CERT_INDEX:
        return _CERT_INDEX[code.group(1).upper()]
    key = cert_key(_EXAM_CODE.sub(" ", name))
    return _CERT_INDEX.get(key, " ".join(name.split()).strip(" -–:"))


ISSUERS = {"aws": "AWS", "amazon": "AWS", "microsoft": "Microsoft", "azure": "Microsoft", "google": "Google Cloud",
           "gcp": "Google Cloud", "nvidia": "NVIDIA", "ibm": "IBM", "oracle": "Oracle", "databricks": "Databricks",
           "snowflake": "Snowflake", "deeplearning.ai": "DeepLearning.AI", "langchain": "LangChain",
           "anthropic": "Anthropic", "openai": "OpenAI", "tensorflow": "Google", "hugging face": "Hugging Face"}

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?](?=\s|$)|$)", re.MULTILINE)
_CLAIM_NUMBER = re.compile(r"\d+(?:\.\d+)?\s?%|\bpercent\b|\b\d+(?:\.\d+)?x\b|\b(?:doubled|tripled|halved)\b", re.I)
_CLAIM_TOPIC = re.compile(
    r"demand|growth|grow|earn|premium|increase|rise|rose|jobs?|postings?|openings|hiring|salar|pay|adoption|"
    r"shortage|more than|higher|faster|companies|employers|market", re.I)

REGIONS = {
    "US": r"U\.S\.|US\b|USA|United States|America\b|American|Silicon Valley|San Francisco|New York|Seattle|Bay Area",
    "UK": r"UK\b|U\.K\.|United Kingdom|Britain|British|London|Manchester|England",
    "India": r"India\b|Indian|Bengaluru|Bangalore|Hyderabad|Pune|Mumbai|Delhi",
    "Canada": r"Canada|Canadian|Toronto|Vancouver|Montreal",
    "Germany": r"Germany|German\b|Berlin|Munich",
    "Switzerland": r"Switzerland|Swiss|Zurich|Geneva",
    "Europe": r"Europe\b|European|EU\b",
    "Asia": r"\bAsia\b|Asian",
    "Australia": r"Australia|Sydney|Melbourne",
    "Remote": r"\bremote\b",
}
_REGION_RES = {name: re.compile(rf"(?<![\w]){pattern}") for name, pattern in REGIONS.items()}
_EMPLOYER = re.compile(
    r"\b(?:big tech|FAANG|MAANG|top (?:AI|tech) (?:companies|labs|firms)|frontier labs?|AI labs?|startups?|"
    r"scale-?ups?|enterprises?|consultanc(?:y|ies)|IT services(?: firms?)?|product companies|hedge funds?|"
    r"large public tech companies|big banks?)\b",
    re.I,
)


_ROLE = re.compile(
    r"\b(?:(?:senior|junior|lead|staff|principal|applied|generative|gen)\s+)?"
    r"(?:AI|ML|machine learning|LLM|GenAI|MLOps|NLP|computer vision|data|prompt|research|software|AI/ML)\s+"
    r"(?:engineers?|scientists?|researchers?|architects?|developers?|specialists?)\b",
    re.I,
)


def find_role(*texts: str) -> str | None:
    """The job title a pay figure is for, e.g. 'AI engineer', from the first text that names one."""
    for text in texts:
        match = _ROLE.search(text or "")
        if match:
            words = match.group(0).split()
            if words[0].casefold() in {"senior", "junior", "lead", "staff", "principal"}:
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
    return re.compile(_SKILL_BEFORE + literal_trie({n.lower() for n in (*SKILLS, *SKILL_ALIASES)}) + _SKILL_AFTER,
                      re.IGNORECASE)


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


def issuer_of(name: str) -> str | None:
    lower = name.casefold()
    return next((issuer for key, issuer in ISSUERS.items() if re.search(rf"\b{re.escape(key)}\b", lower)), None)


def find_certifications(text: str) -> list[Certification]:
    """Credentials named like one: a vendor followed by a credential word, or by an exam code."""
    found: dict[str, Certification] = {}
    for match in _CERT.finditer(text):
        name = match.group(0).strip(" -–:")
        key = name.casefold()
        if len(name) < 6 or key in found:
            continue
        found[key] = Certification(name=name, issuer=issuer_of(name), quote=name)
    return list(found.values())


def find_claims(text: str, limit: int = 12) -> list[Claim]:
    """Sentences that state a number about the market: growth, demand, premiums, shares of postings."""
    claims: list[Claim] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if 30 <= len(sentence) <= 400 and _CLAIM_NUMBER.search(sentence) and _CLAIM_TOPIC.search(sentence):
            claims.append(Claim(statement=sentence, quote=sentence))
        if len(claims) >= limit:
            break
    return claims


def find_region(*texts: str) -> str | None:
    """The first region named in the given texts, tried in order (the figure's clause, then its context)."""
    for text in texts:
        hits = [(m.start(), name) for name, rx in _REGION_RES.items() if (m := rx.search(text or ""))]
        if hits:
            return min(hits)[1]
    return None


def find_employer(*texts: str) -> str | None:
    for text in texts:
        match = _EMPLOYER.search(text or "")
        if match:
            return match.group(0)
    return None
