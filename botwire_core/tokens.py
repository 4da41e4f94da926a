"""Token scopes, for code that enforces them (the server, ``botwire.mcp``).

A scoped token (``botwire token create``, docs/server.md) carries a
:class:`TokenScope`: namespace glob patterns plus read and/or write
:data:`Access`. Namespaces starting with :data:`RESERVED_PREFIX` (``_botwire.``)
hold the server's own records; :func:`is_reserved` tells them apart and no token
reaches them. :func:`validate_pattern` checks a pattern the way the server does.
Standard library only, no I/O.

Example:
    >>> from botwire.tokens import TokenScope, is_reserved
    >>> scope = TokenScope(("team-a-*",), read=True, write=False)
    >>> scope.allows("team-a-7", "read"), scope.allows("team-a-7", "write")
    (True, False)
    >>> is_reserved("_botwire.tokens")
    True
"""

from botwire._tokens import RESERVED_PREFIX, Access, TokenScope, is_reserved, validate_pattern

__all__ = ["RESERVED_PREFIX", "Access", "TokenScope", "is_reserved", "validate_pattern"]
