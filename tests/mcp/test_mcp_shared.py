"""Two hosts share one memory through ``botwire serve``, each behind a scoped token.

``botwire mcp --url http://…`` with ``BOTWIRE_API_KEY`` in its env block (what
``botwire mcp config --url`` prints) reaches a real server process; the server's
refusal of a namespace the token does not cover reaches the model as a tool error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")


from botwire import Memory, PermissionDeniedError  # noqa: E402
from tests.mcp.conftest import ADMIN, Tools, connect_stdio, token  # noqa: E402
from tests.servers import ServerProcess, start_server  # noqa: E402

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with start_server(
        f"sqlite:///{tmp_path / 'shared.db'}", env={"BOTWIRE_ADMIN_TOKEN": ADMIN}
    ) as running:
        yield running


async def test_claude_desktop_and_an_agent_share_one_memory(
    server: ServerProcess, tmp_path: Path
) -> None:
    host_token = token(server.url, "-n", "mcp", "--read", "--write")
    env = {
        "BOTWIRE_URL": server.url,
        "BOTWIRE_API_KEY": host_token,
        "BOTWIRE_HOME": str(tmp_path / "home"),
    }
    async with connect_stdio(["mcp", "--allow", "team-*"], env) as client:
        tools = Tools(client)
        await tools.memory_set(key="user:language", value="Portuguese")
        # allowed by --allow, refused by the token: the server's sentence, as a tool error
        refused = await tools.error("memory_set", key="k", value=1, namespace="team-red")
        assert "may not write namespace 'team-red'" in refused, refused

        agent_token = token(server.url, "-n", "mcp", "--read")
        with Memory("mcp", server.url, api_key=agent_token) as agent:  # the other "host"
            assert agent.get("user:language") == "Portuguese"
            with pytest.raises(PermissionDeniedError):
                agent.set("user:language", "English")  # a read-only token
        assert (await tools.memory_get(key="user:language"))["value"] == "Portuguese"
