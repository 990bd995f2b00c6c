"""Reading datasets: RouteLLM's MT-Bench and GSM8K files, or your own JSON lines."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from lc_gemini_router.tools.evaluation.items import (
    FORMATS,
    STRONG_MODEL,
    WEAK_MODEL,
    DatasetError,
    DatasetFormat,
    EvalItem,
    Role,
    _tokens,
)
from lc_gemini_router.tools.jsonl import read_json_lines

MT_BENCH_FILES = ("question.jsonl", "judgements.jsonl")
GSM8K_FILE = "gsm8k_responses.csv"
BUNDLED_DATA = Path(__file__).resolve().parent.parent / "data" / "routellm"
"""RouteLLM's MT-Bench and GSM8K files, shipped with the package (Apache-2.0; its
README there says where they came from)."""
BUNDLED_NAMES: Mapping[str, DatasetFormat | None] = {
    "mt-bench": "mt-bench",
    "gsm8k": "gsm8k",
    "routellm": None,
}
"""Dataset names that mean the bundled data (``routellm``: both) when no such path exists."""
_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}


def _number(value: Any, where: str, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        msg = f"{where}: {name!r} must be a number, got {value!r}"
        raise DatasetError(msg)
    if isinstance(value, (Decimal, float)) and not math.isfinite(value):
        msg = f"{where}: {name!r} must be finite, got {value}"
        raise DatasetError(msg)
    return Fraction(value)


def _count_field(row: Mapping[str, Any], name: str, where: str) -> int | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{where}: {name!r} must be a whole number >= 0, got {value!r}"
        raise DatasetError(msg)
    return value


def _messages(row: Mapping[str, Any], where: str) -> tuple[tuple[Role, str], ...]:
    if "messages" in row:
        raw = row["messages"]
        if not isinstance(raw, list) or not raw:
            msg = f"{where}: 'messages' must be a non-empty list of {{role, content}} objects"
            raise DatasetError(msg)
        messages: list[tuple[Role, str]] = []
        for index, message in enumerate(raw):
            role = _ROLES.get(str(message.get("role"))) if isinstance(message, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if role is None or not isinstance(content, str):
                msg = (
                    f"{where}: messages[{index}] must be {{'role': system|user|assistant, "
                    f"'content': str}}"
                )
                raise DatasetError(msg)
            messages.append((role, content))
        if not any(role == "user" for role, _ in messages):
            raise DatasetError(f"{where}: 'messages' holds no user message")
        return tuple(messages)
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DatasetError(f"{where}: needs a non-empty 'prompt' string (or 'messages')")
    return (("user", prompt),)


def _jsonl_item(row: Mapping[str, Any], where: str) -> EvalItem:
    item_id = row.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
        raise DatasetError(f"{where}: needs an 'id' (a string)")
    qualities = []
    for name in ("quality_lite", "quality_pro"):
        if name not in row:
            raise DatasetError(f"{where}: missing {name!r}")
        qualities.append(_number(row[name], where, name))
    score: float | None = None
    if row.get("score") is not None:
        score = float(_number(row["score"], where, "score"))
        if not 0 <= score <= 1:
            raise DatasetError(f"{where}: 'score' must be a difficulty from 0 to 1, got {score}")
    category = row.get("category")
    if category is not None and not isinstance(category, str):
        raise DatasetError(f"{where}: 'category' must be a string, got {category!r}")
    return EvalItem(
        id=str(item_id),
        messages=_messages(row, where),
        quality_lite=qualities[0],
        quality_pro=qualities[1],
        score=score,
        category=category,
        input_tokens=_count_field(row, "input_tokens", where),
        output_tokens_lite=_count_field(row, "output_tokens_lite", where),
        output_tokens_pro=_count_field(row, "output_tokens_pro", where),
    )


def _load_jsonl(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for _, where, row in read_json_lines(path, what="dataset", error=DatasetError):
        item = _jsonl_item(row, where)
        if item.id in seen:
            msg = f"{where}: duplicate id {item.id!r} (first at {seen[item.id]})"
            raise DatasetError(msg)
        seen[item.id] = where
        items.append(item)
    return items


def _between(text: str, start: str, end: str) -> str | None:
    begin = text.find(start)
    if begin < 0:
        return None
    begin += len(start)
    stop = text.find(end, begin)
    return text[begin:stop] if stop >= 0 else None


def _judged_answer(judge_prompt: object, turn: int) -> str | None:
    """The assistant's answer to ``turn``, read from the GPT-4 judge's prompt."""
    if not isinstance(judge_prompt, str):
        return None
    if turn == 1:
        answer = _between(
            judge_prompt, "[The Start of Assistant's Answer]\n", "\n[The End of Assistant's Answer]"
        )
        return answer
    conversation = _between(
        judge_prompt,
        "<|The Start of Assistant A's Conversation with User|>",
        "<|The End of Assistant A's Conversation with User|>",
    )
    if conversation is None or "### Assistant A:\n" not in conversation:
        return None
    return conversation.rsplit("### Assistant A:\n", 1)[1].strip()


def _load_mt_bench(folder: Path) -> list[EvalItem]:
    questions_path, judgements_path = (folder / name for name in MT_BENCH_FILES)
    scores: dict[tuple[int, str, int], Fraction] = {}
    answers: dict[tuple[int, str, int], str] = {}
    for _, where, row in read_json_lines(judgements_path, what="dataset", error=DatasetError):
        model = row.get("model")
        if model not in (STRONG_MODEL, WEAK_MODEL):
            continue
        try:
            key = (int(row["question_id"]), str(model), int(row["turn"]))
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{where}: needs integer 'question_id' and 'turn' ({exc})"
            raise DatasetError(msg) from exc
        score = _number(row.get("score"), where, "score")
        if not 1 <= score <= 10:
            raise DatasetError(f"{where}: judge score {float(score)} is outside 1-10")
        if key in scores:
            raise DatasetError(f"{where}: a second judgement of {key[1]} on {key[0]} turn {key[2]}")
        scores[key] = score
        answer = _judged_answer(row.get("user_prompt"), key[2])
        if answer is not None:
            answers[key] = answer

    items = []
    for _, where, row in read_json_lines(questions_path, what="dataset", error=DatasetError):
        turns = row.get("turns")
        if (
            not isinstance(turns, list)
            or len(turns) != 2
            or not all(isinstance(t, str) for t in turns)
        ):
            raise DatasetError(f"{where}: 'turns' must hold the two user turns")
        try:
            qid = int(row["question_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: needs an integer 'question_id'") from exc
        quality: dict[str, Fraction] = {}
        output: dict[str, int | None] = {}
        resent: dict[str, int] = {}
        for model in (WEAK_MODEL, STRONG_MODEL):
            turn_scores = []
            for turn in (1, 2):
                if (qid, model, turn) not in scores:
                    msg = (
                        f"{judgements_path}: no turn-{turn} judgement of {model} on question {qid}"
                    )
                    raise DatasetError(msg)
                turn_scores.append(scores[(qid, model, turn)])
            quality[model] = sum(turn_scores, Fraction(0)) / 2
            first, second = answers.get((qid, model, 1)), answers.get((qid, model, 2))
            if first is None or second is None:
                output[model], resent[model] = None, 0
            else:
                output[model] = _tokens(len(first)) + _tokens(len(second))
                resent[model] = _tokens(len(first))
        first_turn, second_turn = (_tokens(len(t)) for t in turns)
        category = row.get("category")
        items.append(
            EvalItem(
                id=f"mt-bench-{qid}",
                # Routed on the first turn, as RouteLLM routes MT-Bench questions.
                messages=(("user", turns[0]),),
                quality_lite=quality[WEAK_MODEL],
                quality_pro=quality[STRONG_MODEL],
                category=category if isinstance(category, str) else None,
                # Call 1 sends turn 1; call 2 sends turn 1, the first answer, turn 2.
                input_tokens=2 * first_turn + second_turn,
                output_tokens_lite=output[WEAK_MODEL],
                output_tokens_pro=output[STRONG_MODEL],
                resent_tokens_lite=resent[WEAK_MODEL],
                resent_tokens_pro=resent[STRONG_MODEL],
            )
        )
    return items


def _correct(value: str | None, where: str, column: str) -> Fraction:
    text = (value or "").strip()
    if text not in ("True", "False"):
        raise DatasetError(f"{where}: column {column!r} must be True or False, got {text!r}")
    return Fraction(int(text == "True"))


def _load_gsm8k(path: Path) -> list[EvalItem]:
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
    columns = [
        "prompt",
        WEAK_MODEL,
        STRONG_MODEL,
        f"{WEAK_MODEL}_response",
        f"{STRONG_MODEL}_response",
    ]
    items = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            for index, row in enumerate(reader):
                where = f"{path}:{reader.line_num}"
                prompt = row["prompt"] or ""
                if not prompt.strip():
                    raise DatasetError(f"{where}: empty prompt")
                items.append(
                    EvalItem(
                        id=f"gsm8k-{index}",
                        messages=(("user", prompt),),
                        quality_lite=_correct(row[WEAK_MODEL], where, WEAK_MODEL),
                        quality_pro=_correct(row[STRONG_MODEL], where, STRONG_MODEL),
                        category="math",
                        input_tokens=_tokens(len(prompt)),
                        output_tokens_lite=_tokens(len(row[f"{WEAK_MODEL}_response"] or "")),
                        output_tokens_pro=_tokens(len(row[f"{STRONG_MODEL}_response"] or "")),
                    )
                )
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    return items


def detect_formats(path: str | os.PathLike[str]) -> list[DatasetFormat]:
    """The dataset formats found at ``path`` (a folder may hold MT-Bench and GSM8K).

    Raises:
        DatasetError: nothing usable is there.
    """
    where = Path(path)
    if where.is_dir():
        found: list[DatasetFormat] = []
        if all((where / name).is_file() for name in MT_BENCH_FILES):
            found.append("mt-bench")
        if (where / GSM8K_FILE).is_file():
            found.append("gsm8k")
        if not found:
            msg = (
                f"no dataset in {where}: expected {' + '.join(MT_BENCH_FILES)} (MT-Bench) "
                f"or {GSM8K_FILE} (GSM8K)"
            )
            raise DatasetError(msg)
        return found
    if not where.exists():
        raise DatasetError(f"dataset not found: {where}")
    if where.suffix.lower() == ".jsonl":
        return ["jsonl"]
    if where.suffix.lower() == ".csv":
        return ["gsm8k"]
    msg = f"cannot tell the format of {where}: expected a folder, a .jsonl or a .csv file"
    raise DatasetError(msg)


def load_dataset(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> list[EvalItem]:
    """Read a labelled dataset (see the module docs for the formats).

    Args:
        path: a RouteLLM data folder, ``gsm8k_responses.csv``, or a ``.jsonl`` file.
        format: ``mt-bench``, ``gsm8k`` or ``jsonl``; detected when None.

    Raises:
        DatasetError: the path is missing, holds no (or two) datasets and no format
            says which, or a line is malformed (the error names ``file:line``).
    """
    where = Path(path)
    if format is None:
        found = detect_formats(where)
        if len(found) > 1:
            msg = f"{where} holds {' and '.join(found)} data: choose one with a format"
            raise DatasetError(msg)
        format = found[0]
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}: expected {', '.join(FORMATS)}")
    if not where.exists():
        raise DatasetError(f"dataset not found: {where}")
    if format == "mt-bench":
        missing = [n for n in MT_BENCH_FILES if not (where / n).is_file()]
        if missing:
            raise DatasetError(f"not MT-Bench data: {where} lacks {', '.join(missing)}")
        items = _load_mt_bench(where)
    elif format == "gsm8k":
        csv_path = where / GSM8K_FILE if where.is_dir() else where
        if not csv_path.is_file():
            raise DatasetError(f"not GSM8K data: {csv_path} not found")
        items = _load_gsm8k(csv_path)
    else:
        if where.is_dir():
            raise DatasetError(f"jsonl format needs a file, {where} is a folder")
        items = _load_jsonl(where)
    if not items:
        raise DatasetError(f"no items in {where}")
    return items


def load_datasets(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> list[tuple[DatasetFormat, list[EvalItem]]]:
    """Every dataset at ``path`` (``format`` picks one), as ``(format, items)`` pairs.

    Raises:
        DatasetError: as :func:`detect_formats` and :func:`load_dataset`.
    """
    path, format = resolve_dataset(path, format)
    formats = [format] if format is not None else detect_formats(path)
    return [(fmt, load_dataset(path, fmt)) for fmt in formats]


def resolve_dataset(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> tuple[Path, DatasetFormat | None]:
    """``mt-bench``, ``gsm8k`` or ``routellm`` name the bundled data unless such a path exists.

    Example:
        >>> from lc_gemini_router.tools.evaluation import BUNDLED_DATA, resolve_dataset
        >>> resolve_dataset("gsm8k") == (BUNDLED_DATA, "gsm8k")
        True
    """
    where = Path(path)
    name = os.fspath(path)
    if name in BUNDLED_NAMES and not where.exists():
        return BUNDLED_DATA, format or BUNDLED_NAMES[name]
    return where, format
