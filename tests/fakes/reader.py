"""A scripted stand-in for the model: answers career-kb's chunk-reading requests from the excerpt itself.

It reads what the real model would read (the tool schema and the tagged excerpt) and answers with simple,
predictable rules, so full-path tests exercise the real openai client, instructor, grounding and storage
without a model. It is deliberately naive: the pipeline's own guards must still keep prices out of pay.
"""

from __future__ import annotations

import json
import re

from tests.fakes.openai_server import Reply, tool_call_reply

_TAG = re.compile(r"\[(M\d+)\]")
_NOT_PAY = re.compile(r"exam|fee|course|bootcamp|tuition|revenue|funding|price|costs?\b", re.IGNORECASE)
_LEVELS = ("intern", "entry", "junior", "mid", "senior", "staff", "lead", "principal")
SKILLS = ("Python", "PyTorch", "LangChain", "Kubernetes", "vector databases", "prompt engineering", "SQL")


def excerpt(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def tool_name(request: dict) -> str:
    return request["tools"][0]["function"]["name"]


def figure_tags(request: dict) -> list[str]:
    """The figure tags the response schema requires (the fields of its `Figures` definition)."""
    params = request["tools"][0]["function"]["parameters"]
    figures = params.get("$defs", {}).get("Figures", {})
    return list(figures.get("properties", {}))


def _line_of(text: str, tag: str) -> str:
    return next((line for line in text.splitlines() if f"[{tag}]" in line), "")


def read_figure(line: str) -> dict:
    """Pay unless a fee/price word is on the line; level from the first level word on it."""
    lower = line.lower()
    level = next((lvl for lvl in _LEVELS if lvl in lower), "unspecified")
    kind = "fee" if _NOT_PAY.search(line) else "pay"
    return {"kind": kind, "level": level}


def lists_from(text: str) -> dict:
    """Skills named in the excerpt, lines naming a certification, and lines with a percentage as claims (metric
    skill_demand when the line says demand, else other), each an exact phrase of the excerpt."""
    clean = _TAG.sub("", text)
    lines = [line.strip() for line in clean.splitlines() if line.strip()]
    skills = [s for s in SKILLS if s in clean]
    certs = [line.strip("-*• ")[:100] for line in lines if "Certified" in line and len(line) < 160][:6]
    claims = [claim(line) for line in lines if "%" in line and len(line) < 300][:3]
    return {"certifications": certs, "skills": skills, "claims": claims}


def claim(quote: str) -> dict:
    """A listed claim as the model gives it: its words, a metric and no subject."""
    return {"quote": quote, "metric": "skill_demand" if "demand" in quote.lower() else "other", "subject": None}


def answer(request: dict) -> dict:
    """The arguments a well-behaved model would send for this request."""
    text = excerpt(request)
    args = lists_from(text)
    tags = figure_tags(request)
    if tags:
        args["figures"] = {tag: read_figure(_line_of(text, tag)) for tag in tags}
    return args


def reader(request: dict) -> Reply:
    """Responder for FakeOpenAI: a tool call answering the chunk-reading request."""
    return tool_call_reply(tool_name(request), answer(request), prompt_tokens=len(json.dumps(request)) // 4)
