"""The memory tools a model calls, written once for every framework.

``remember``, ``recall``, ``forget``, ``list_memories`` and ``search_memories``:
their names, the descriptions a model reads, their arguments, what they do and
every sentence they answer. The LangChain, CrewAI and AutoGen tools (and the MCP
server's ``memory_search``) are thin wrappers that turn a :class:`ToolSpec` into
the framework's tool type and call :meth:`MemoryTools.run` or
:meth:`MemoryTools.arun`. Standard library only: no framework import.

Example:
    >>> from botwire import Memory
    >>> from botwire.tools import MemoryTools
    >>> tools = MemoryTools(Memory("agent-memory"))
    >>> tools.run("remember", {"key": "user:name", "value": "Ada"})
    'Remembered "user:name".'
    >>> tools.run("recall", {"key": "user:name"})
    'Ada'

Each tool is a *plan*: a generator that yields the memory calls it needs and
returns the answer. :func:`run_plan` drives it with a ``Memory``,
:func:`arun_plan` awaits the same calls on an ``AsyncMemory``, so the sync and
async tools cannot drift apart (the LangGraph store's batches use the same two).

Mistakes the model can fix (a bad key, a value over the size limit, a namespace
over its quota) raise :class:`ToolInputError` whose text is the answer to show
the model; outages and bugs propagate unchanged, for the operator.

The keyword ranker (:func:`terms`, :func:`rank`) is the one every adapter uses:
no embeddings, no model calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from botwire._errors import QuotaExceededError, ValidationError

__all__ = [
    "FORGET",
    "Call",
    "LIST_MEMORIES",
    "MAX_SEARCH",
    "RECALL",
    "REMEMBER",
    "SEARCH_MEMORIES",
    "SEARCH_SCAN",
    "TOOLS",
    "MemoryTools",
    "Param",
    "ToolInputError",
    "ToolSpec",
    "args_model",
    "arun_plan",
    "rank",
    "run_plan",
    "terms",
]

T = TypeVar("T")

_REQUIRED: Any = object()


# -- what the model sees ----------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One argument of a tool: its name, type, description and default."""

    name: str
    type: type[str] | type[int]
    description: str
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        """Whether the model must pass it."""
        return self.default is _REQUIRED


@dataclass(frozen=True)
class ToolSpec:
    """A tool as a model sees it: name, description and arguments."""

    name: str
    description: str
    params: tuple[Param, ...]

    def input_schema(self) -> dict[str, Any]:
        """The arguments as a JSON Schema object (what MCP and OpenAI tools take)."""
        kinds = {str: "string", int: "integer"}
        properties: dict[str, Any] = {}
        for p in self.params:
            properties[p.name] = {"type": kinds[p.type], "description": p.description}
            if not p.required:
                properties[p.name]["default"] = p.default
        required = [p.name for p in self.params if p.required]
        return {"type": "object", "properties": properties, "required": required}


_KEY = Param(
    "key",
    str,
    "A short, stable name for the fact, e.g. 'user:name' or 'project:deadline'.",
)
_EXACT_KEY = Param("key", str, "The exact key the fact was remembered under.")

REMEMBER = ToolSpec(
    "remember",
    "Save a fact to long-term memory under a key, so it can be recalled in later "
    "conversations. Saving under an existing key replaces the old fact.",
    (_KEY, Param("value", str, "The fact to remember, as text.")),
)
RECALL = ToolSpec(
    "recall",
    "Look up the fact saved in long-term memory under a key. Use list_memories or "
    "search_memories first if you do not know the key.",
    (_EXACT_KEY,),
)
FORGET = ToolSpec(
    "forget",
    "Delete the fact saved in long-term memory under a key.",
    (_EXACT_KEY,),
)
LIST_MEMORIES = ToolSpec(
    "list_memories",
    "List the keys saved in long-term memory, each with the start of its fact, in "
    "key order (optionally only keys starting with a prefix).",
    (
        Param(
            "prefix",
            str,
            "Only list keys that start with this text, e.g. 'user:'. Empty lists every key.",
            "",
        ),
    ),
)
SEARCH_MEMORIES = ToolSpec(
    "search_memories",
    "Find facts in long-term memory by words they contain (keys and facts are "
    "searched), best match first. Use it when you do not know the exact key.",
    (
        Param("query", str, "Words to look for, e.g. 'favourite colour'."),
        Param("limit", int, "At most this many results (1-50).", 5),
    ),
)

TOOLS = (REMEMBER, RECALL, FORGET, LIST_MEMORIES)
"""The tools every adapter gives an agent, in this order."""


def args_model(spec: ToolSpec) -> Any:
    """A pydantic model of ``spec``'s arguments (for LangChain, CrewAI and AutoGen).

    pydantic is imported here, not at the top: every framework that calls this
    ships it, the core does not need it.
    """
    from pydantic import Field, create_model

    fields: dict[str, Any] = {
        p.name: (p.type, Field(... if p.required else p.default, description=p.description))
        for p in spec.params
    }
    name = "".join(part.title() for part in spec.name.split("_")) + "Input"
    return create_model(name, __doc__=f"Arguments of ``{spec.name}``.", **fields)


# -- what the tools do ----------------------------------------------------------------------


class ToolInputError(ValueError):
    """A tool call the model can correct; ``str(exc)`` is the answer to show it."""


_MODEL_ERRORS = (ValidationError, QuotaExceededError)
"""Raised by a memory for a call the model (not the operator) can fix."""

Call = tuple[str, tuple[Any, ...], dict[str, Any]]
"""One memory call a plan needs: method name, arguments, keyword arguments."""
Plan = Generator[Call, Any, str]


def run_plan(memory: Any, plan: Generator[Call, Any, T]) -> T:
    """Drive ``plan`` with a ``Memory``: send it each call's result, or throw the
    call's exception into it (a plan may catch, say, a ``ConflictError``)."""
    try:
        call = next(plan)
        while True:
            method, args, kwargs = call
            try:
                result = getattr(memory, method)(*args, **kwargs)
            except Exception as exc:
                call = plan.throw(exc)
            else:
                call = plan.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun_plan(memory: Any, plan: Generator[Call, Any, T]) -> T:
    """:func:`run_plan` with an ``AsyncMemory``: the same plan, each call awaited."""
    try:
        call = next(plan)
        while True:
            method, args, kwargs = call
            try:
                result = await getattr(memory, method)(*args, **kwargs)
            except Exception as exc:
                call = plan.throw(exc)
            else:
                call = plan.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


SHOWN_CHARS = 200
"""How much of each fact ``list_memories`` and ``search_memories`` show."""
MAX_SEARCH = 50
"""Most matches one ``search_memories`` call returns."""
SEARCH_SCAN = 1000
"""Most keys (in key order) one ``search_memories`` call reads."""


def _quoted(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _show(value: Any) -> str:
    """A stored value as the model reads it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


class MemoryTools:
    """The behaviour of the memory tools over one ``Memory`` or ``AsyncMemory``.

    Args:
        memory: a :class:`botwire.Memory` (for :meth:`run`) or
            :class:`botwire.AsyncMemory` (for :meth:`arun`).
        prefix: put before every key the model uses, so its keys stay apart from
            your own in a shared namespace; the model never sees it.
        list_limit: most keys ``list_memories`` shows at once.
        encode: turns the text the model remembers into the value stored
            (default: the text itself).
        show: turns a stored value into the text the model reads, or ``None`` to
            skip a value that is not a fact (default: text as is, else JSON).

    Raises:
        ValidationError: ``prefix`` is not a string or ``list_limit`` not positive.
    """

    def __init__(
        self,
        memory: Any,
        *,
        prefix: str = "",
        list_limit: int = 50,
        encode: Callable[[str], Any] | None = None,
        show: Callable[[Any], str | None] | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
        if isinstance(list_limit, bool) or not isinstance(list_limit, int) or list_limit < 1:
            raise ValidationError(f"list_limit must be a positive integer, not {list_limit!r}")
        self.memory = memory
        self.prefix = prefix
        self.list_limit = list_limit
        self._encode = encode or (lambda text: text)
        self._show: Callable[[Any], str | None] = show or _show

    # -- drivers ------------------------------------------------------------------------

    def run(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Run tool ``name`` with ``arguments`` on a ``Memory``; return the answer.

        Raises:
            ToolInputError: a mistake the model can fix (its text is the answer).
            BotWireError: anything else (the store is down, …), unchanged.
        """
        try:
            return run_plan(self.memory, self._plan(name, arguments))
        except _MODEL_ERRORS as exc:
            raise ToolInputError(f"Error: {exc}") from exc

    async def arun(self, name: str, arguments: Mapping[str, Any]) -> str:
        """:meth:`run` on an ``AsyncMemory``."""
        try:
            return await arun_plan(self.memory, self._plan(name, arguments))
        except _MODEL_ERRORS as exc:
            raise ToolInputError(f"Error: {exc}") from exc

    def _plan(self, name: str, arguments: Mapping[str, Any]) -> Plan:
        plans: dict[str, Callable[..., Plan]] = {
            "remember": self._remember,
            "recall": self._recall,
            "forget": self._forget,
            "list_memories": self._list_memories,
            "search_memories": self._search_memories,
        }
        if name not in plans:
            raise ValueError(f"unknown memory tool {name!r}; known: {', '.join(plans)}")
        return plans[name](**arguments)

    # -- the plans: each tool's behaviour, once -----------------------------------------

    def _remember(self, key: str, value: str) -> Plan:
        if not isinstance(value, str):
            raise ToolInputError(f"Error: value must be text, not {type(value).__name__}")
        version = yield ("set", (self.prefix + key, self._encode(value)), {})
        if version == 1:
            return f"Remembered {_quoted(key)}."
        return f"Remembered {_quoted(key)} (replaced the old fact)."

    def _recall(self, key: str) -> Plan:
        item = yield ("get_item", (self.prefix + key,), {})
        shown = None if item is None else self._show(item.value)
        if shown is None:
            return f"Nothing is remembered under {_quoted(key)}. Use list_memories to see the keys."
        return shown

    def _forget(self, key: str) -> Plan:
        existed = yield ("delete", (self.prefix + key,), {})
        if existed:
            return f"Forgot {_quoted(key)}."
        return f"Nothing was remembered under {_quoted(key)}; nothing to forget."

    def _list_memories(self, prefix: str = "") -> Plan:
        if not isinstance(prefix, str):
            raise ToolInputError(f"Error: prefix must be text, not {type(prefix).__name__}")
        limit = self.list_limit
        keys = yield ("list_keys", (self.prefix + prefix,), {"limit": limit + 1})
        values = (yield ("get_many", (keys[:limit],), {})) if keys else {}
        shown = (self._line(k, values[k]) for k in keys[:limit] if k in values)
        lines = [line for line in shown if line is not None]
        if not lines:
            where = f" with keys starting {_quoted(prefix)}" if prefix else ""
            return f"No memories{where} are saved."
        if len(keys) > limit:
            lines.append(f"(only the first {limit} keys; pass a longer prefix to see others)")
        return "\n".join(lines)

    def _search_memories(self, query: str, limit: int = 5) -> Plan:
        if not isinstance(query, str):
            raise ToolInputError(f"Error: query must be text, not {type(query).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH:
            raise ToolInputError(f"Error: limit must be from 1 to {MAX_SEARCH}, not {limit!r}")
        if not terms(query):
            return "Give search_memories some words to look for."
        keys = yield ("list_keys", (self.prefix,), {"limit": SEARCH_SCAN})
        values = (yield ("get_many", (keys,), {})) if keys else {}
        candidates = []
        for position, full in enumerate(keys):
            line = self._line(full, values[full]) if full in values else None
            if line is not None:
                candidates.append((line, float(position), line))
        found = rank(query, candidates, limit)
        if not found:
            return f"No memories match {_quoted(query)}. Use list_memories to see the keys."
        return "\n".join(found)

    def _line(self, full_key: str, value: Any) -> str | None:
        shown = self._show(value)
        return None if shown is None else f"{full_key[len(self.prefix) :]}: {_clip(shown)}"


# -- the keyword ranker -------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is
    it its just me more most my no nor not now of off on once only or other our out
    over own please same she should so some such than that the their them then there
    these they this those through to too under until up us very was we were what when
    where which while who whom why will with would you your yours tell know remember
    hi hello hey thanks thank ok okay yes yeah sure
    """.split()
)
"""Words that say nothing about which memory is relevant."""


@lru_cache(maxsize=8192)  # the same memories are ranked again on every turn
def terms(text: str) -> frozenset[str]:
    """Return the search words of ``text``.

    Lower-cased, split at anything that is not a letter or digit, common words and
    one-letter words dropped (digits kept), a plural ``s`` removed.

    Example:
        >>> sorted(terms("What are my favourite colours?"))
        ['colour', 'favourite']
    """
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def rank(query: str, candidates: Iterable[tuple[str, float, T]], limit: int) -> Sequence[T]:
    """Return at most ``limit`` candidates, best first.

    Args:
        query: the text to match; without search words the newest candidates win.
        candidates: ``(text, added_at, item)`` triples (a larger ``added_at`` is newer).
        limit: how many to return.

    Returns:
        The items whose text shares at least one search word with ``query``,
        ordered by the number of shared words, then newest first. If ``query`` has
        no search words, the newest ``limit`` items.
    """
    wanted = terms(query)
    scored: list[tuple[int, float, int, T]] = []
    for position, (text, added_at, item) in enumerate(candidates):
        score = 0
        if wanted:
            low = text.lower()
            # a search word is a prefix of the word it came from, so a text that
            # contains none of them as a substring cannot match: skip tokenising it
            if not any(w in low for w in wanted):
                continue
            score = len(wanted & terms(low))
            if score == 0:
                continue
        scored.append((score, added_at, position, item))
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2]))
    return [s[3] for s in scored[:limit]]
