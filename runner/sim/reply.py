"""The final message: what it says (from this run's tool step, or the model's own rules) and how the
instructions shape it (language, the name to address the user by, yes/no first, showing the steps)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from runner.sim.mathtask import describe_text
from runner.sim.policy import Context
from runner.sim.search import best_quote, marker
from runner.sim.structured import structured_text
from runner.sim.text import has_hangul, split_sentences
from runner.sim.types import (
    Citation,
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    ModelInput,
    ToolCallsStep,
)

_LANGUAGE = re.compile(
    r"\b(?:answer|reply|respond|write|speak|talk)\b[^.]*?\bin (korean|english)\b|(한국어|영어)로\s*(?:답|대답|응답|말)",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"^\s*(?:if|when|whenever)\b|하면|경우", re.IGNORECASE)
_NAME = re.compile(
    r"\b(?i:address|call|refer to)\s+(?i:the user|the customer|them|him|her|me)\s+(?i:as\s+)?[\"“']?([A-Z][^.,;:!?\"”'\n]*)"
)
_NAME_KO = re.compile(r"(?:사용자|고객)를\s*[\"“']?([^\s\"“”'.,]+?)[\"”']?\s*(?:님)?(?:이)?라고\s*부르")
_YES_NO = re.compile(
    r"\byes\s*(?:or|/)\s*no\b[^.]*\b(?:first|start|begin)|\b(?:start|begin)\w*\b[^.]*\byes\s*(?:or|/)\s*no\b"
    r"|(?:예|네)\s*(?:또는|/)?\s*아니[요오][^.]*먼저|먼저[^.]*(?:예|네)\s*(?:또는|/)?\s*아니[요오]",
    re.I,
)
_STEPS = re.compile(
    r"\b(?:show|explain|give|include|list)\b[^.]*\b(?:steps?|working|reasoning|(?:your|the) work)\b|\bstep[- ]by[- ]step\b|풀이\s*과정",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(
    r"\bif the (?:files?|documents?|sources?) (?:do not|don't|does not|doesn't) (?:say|tell|mention|contain)[^,]*,\s*"
    r"(?:answer|say|reply|respond)\s+(?:that\s+)?([^.\n]+)",
    re.IGNORECASE,
)
_LOWER_STARTS = ("The ", "According ", "Your ", "Every ", "Check: ", "Here ", "You're ", "Hello", "Noted")


@dataclass(frozen=True)
class Style:
    lang: str  # "en" or "ko"
    name: str | None = None
    yes_no_first: bool = False
    show_steps: bool = False
    not_found: str | None = None


def style_of(instructions: str, user_text: str) -> Style:
    lang = "ko" if has_hangul(user_text) else "en"
    for sentence in split_sentences(instructions):
        m = _LANGUAGE.search(sentence)
        if m and not _CONDITIONAL.search(sentence):
            lang = "en" if (m.group(1) or m.group(2)).lower() in ("english", "영어") else "ko"
    name = _NAME.search(instructions) or _NAME_KO.search(instructions)
    not_found = _NOT_FOUND.search(instructions)
    return Style(
        lang,
        name.group(1).strip() if name else None,
        bool(_YES_NO.search(instructions)),
        bool(_STEPS.search(instructions)),
        not_found.group(1).strip().rstrip(".") if not_found else None,
    )


@dataclass(frozen=True)
class _Core:
    text: str
    truth: bool | None = None
    steps: tuple[str, ...] = ()
    citations: tuple[tuple[str, str, str, str], ...] = ()  # marker, file_id, filename, quote
    printed: str | None = None  # the last line the code printed, when a code step ran as intended


def _function_summary(call: FunctionCall, lang: str) -> str:
    if call.output is None:
        return f"{call.name} returned nothing" if lang == "en" else f"{call.name} 결과가 없습니다"
    try:
        data = json.loads(call.output)
    except ValueError:
        data = None
    if isinstance(data, dict):
        shown = ", ".join(
            f"{k} {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in data.items()
        )
    elif isinstance(data, str):
        shown = data  # a JSON string: its text, without the quotes
    else:
        shown = " ".join(call.output.split())
    return f"according to {call.name}: {shown}" if lang == "en" else f"{call.name} 결과: {shown}"


def _code_core(call: CodeInterpreterCall, ctx: Context, lang: str) -> _Core:
    task = ctx.task or describe_text(ctx.text)
    logs = call.logs or ""
    if call.input == task.code and task.ran_as_intended(logs):
        return _Core(task.answer(lang), task.truth, task.steps, (), logs.strip().splitlines()[-1])
    printed = " ".join(logs.split()[-40:]) or ("nothing" if lang == "en" else "출력 없음")
    if lang == "ko":
        return _Core(f"코드가 예상대로 실행되지 않았습니다. 출력: “{printed}”")
    return _Core(f"The code did not run as intended. It printed: “{printed}”")


def _search_core(call: FileSearchCall, step_index: int, ctx: Context, style: Style) -> _Core:
    quote = best_quote(ctx.text, call.results or ())
    if quote is None:
        if style.not_found:
            return _Core(style.not_found[:1].upper() + style.not_found[1:] + ".")
        if style.lang == "ko":
            return _Core("파일에서 관련 내용을 찾지 못했습니다.")
        return _Core("I could not find anything about that in the files.")
    mark = marker(step_index, quote.result_index, quote.hit.filename)
    body = quote.sentence.rstrip(".!?")
    text = (
        f"파일에 따르면 “{body}”{mark}." if style.lang == "ko" else f"According to the files, “{body}”{mark}."
    )
    return _Core(text, None, (), ((mark, quote.hit.file_id, quote.hit.filename, quote.sentence),))


def _own_core(ctx: Context, lang: str) -> _Core:
    if ctx.task is not None:
        return _Core(ctx.task.answer(lang), ctx.task.truth, ctx.task.steps)
    text = ctx.text
    thanks = re.search(r"\bthanks?\b|\bthank you\b|고마|감사", text, re.IGNORECASE)
    greeting = re.match(r"\s*(?:hi|hello|hey)\b|\s*안녕", text, re.IGNORECASE)
    questions = [s for s in split_sentences(text) if "?" in s or "？" in s]
    parts = []
    if thanks:
        parts.append("You're welcome!" if lang == "en" else "천만에요!")
    elif greeting or not text.strip():
        parts.append("Hello! How can I help?" if lang == "en" else "안녕하세요! 무엇을 도와드릴까요?")
    if questions:
        q = " ".join(questions)
        parts.append(
            f"I have no tool result or rule that answers “{q}”, so I will not guess."
            if lang == "en"
            else f"“{q}”에 답할 도구 결과나 규칙이 없어 추측하지 않겠습니다."
        )
    return _Core(" ".join(parts) or ("Noted." if lang == "en" else "알겠습니다."))


def _core(inp: ModelInput, ctx: Context, style: Style) -> _Core:
    if not inp.steps:
        return _own_core(ctx, style.lang)
    index = len(inp.steps) - 1
    step: ToolCallsStep = inp.steps[index]
    first = step.calls[0] if step.calls else None
    if isinstance(first, CodeInterpreterCall):
        return _code_core(first, ctx, style.lang)
    if isinstance(first, FileSearchCall):
        return _search_core(first, index, ctx, style)
    summaries = [_function_summary(c, style.lang) for c in step.function_calls]
    if not summaries:
        return _own_core(ctx, style.lang)
    joined = "; ".join(summaries)
    if joined.startswith("according"):
        joined = "A" + joined[1:]
    return _Core(joined + ".")


def compose(inp: ModelInput, ctx: Context) -> tuple[str, tuple[Citation, ...]]:
    style = style_of(inp.instructions, ctx.text)
    core = _core(inp, ctx, style)
    text = core.text
    ko = style.lang == "ko"
    prefix = ""
    if style.yes_no_first:
        answer = core.truth is not False
        prefix = ("네" if answer else "아니요") if ko else ("Yes" if answer else "No")
        prefix += (f", {style.name}님. " if ko else f", {style.name}. ") if style.name else ". "
    elif style.name:
        prefix = f"{style.name}님, " if ko else f"{style.name}, "
        if text.startswith(_LOWER_STARTS):
            text = text[:1].lower() + text[1:]
    text = prefix + text
    steps = [s for s in core.steps if s not in text]  # the answer already states those
    if core.printed is not None:
        steps.append(f"파이썬 코드 출력: {core.printed}" if ko else f"the Python code printed {core.printed}")
    if style.show_steps and steps:
        text += (" 풀이: " if ko else " Steps: ") + "; ".join(steps) + "."
    structured = structured_text(inp.response_format, text, ctx.text, core.truth)
    if structured is not None:
        return structured, ()  # JSON carries no citation markers
    citations = tuple(
        Citation(mark, file_id, filename, quote, text.index(mark), text.index(mark) + len(mark))
        for mark, file_id, filename, quote in core.citations
    )
    return text, citations
