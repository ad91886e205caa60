"""A FastMCP server (PyPI `mcp` 1.x) whose tool list changes at runtime, for tests/e2e/gateway.sh.

    python dynamic_server.py PORT      # Streamable HTTP on 127.0.0.1:PORT/mcp

Tools: `shout` (upper-cases its text) and `add_tool`, which registers a new tool named by its
argument and then sends notifications/tools/list_changed to the client (on the client's GET
stream, as the notification belongs to no request).
"""

from __future__ import annotations

import sys

from mcp.server.fastmcp import Context, FastMCP

mcp = FastMCP("e2e-dynamic-fastmcp", host="127.0.0.1", port=int(sys.argv[1]))


@mcp.tool()
def shout(text: str) -> str:
    """Returns the text in capitals."""
    return text.upper()


@mcp.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Registers a tool called `name` that greets, then announces the new tool list."""

    def greet(who: str) -> str:
        return f"{name} greets {who}"

    mcp.add_tool(greet, name=name, description=f"Greets, added at runtime as {name}")
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
