"""Keyword + recency ranking for :class:`~botwire.autogen.BotWireMemory` queries.

No embeddings and no model calls: a memory's score is how many distinct words of
the query it contains; ties go to the newest memory. Words are lower-cased, short
and very common words are dropped, and a plural ``s`` is ignored, so
"favourite colours" matches "favourite colour".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

__all__ = ["rank", "terms"]

T = TypeVar("T")

_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is
    it its just me more most my no nor not now of off on once only or other our out
    over own please same she should so some such than that the their them then there
    these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours tell know remember
    hi hello hey thanks thank ok okay yes yeah sure
    """.split()
)
"""Words that say nothing about which memory is relevant."""


@lru_cache(maxsize=8192)  # the same memories are ranked again on every turn
def terms(text: str) -> frozenset[str]:
    """Return the normalised search words of ``text``.

    Example:
        >>> sorted(terms("What are my favourite colours?"))
        ['colour', 'favourite']
    """
    words = set(_WORD.findall(text.lower())) - STOPWORDS
    return frozenset(
        w[:-1] if len(w) > 3 and w[-1] == "s" and w[-2] != "s" else w for w in words if len(w) > 1
    )


def rank(query: str, candidates: Iterable[tuple[str, float, T]], limit: int) -> Sequence[T]:
    """Return at most ``limit`` candidates, best first.

    Args:
        query: the text to match; without search words the newest candidates win.
        candidates: ``(text, added_at, item)`` triples.
        limit: how many to return.

    Returns:
        The items whose text shares at least one word with ``query``, ordered by
        the number of shared words, then newest first. If ``query`` has no search
        words, the newest ``limit`` items.
    """
    wanted = terms(query)
    scored: list[tuple[int, float, int, T]] = []
    for position, (text, added_at, item) in enumerate(candidates):
        score = 0
        if wanted:
            low = text.lower()
            # a normalised word is a prefix of the word it came from, so a text that
            # contains none of them as a substring cannot match: skip tokenising it
            if not any(w in low for w in wanted):
                continue
            score = len(wanted & terms(low))
            if score == 0:
                continue
        scored.append((score, added_at, position, item))
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2]))
    return [s[3] for s in scored[:limit]]
