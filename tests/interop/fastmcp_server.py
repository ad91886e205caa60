"""A FastMCP server (PyPI `mcp`) for the switchyard-client interop run.

    python fastmcp_server.py stdio
    python fastmcp_server.py http PORT        # Streamable HTTP on 127.0.0.1:PORT/mcp

Works with the SDK's 1.x line (`mcp.server.fastmcp.FastMCP`) and its 2.x line
(`mcp.server.mcpserver.MCPServer`, the renamed FastMCP). FastMCP answers every list in one
page, so this script replaces the four list handlers with ones that page by PAGE_SIZE
through the SDK's own lists: the client must follow `nextCursor` to see everything.

What it offers (crates/client/examples/interop_client.rs, profile `fastmcp`, mirrors it):
3 named tools + 30 generated, 1 + 25 resources, 1 template, 2 named prompts + 12 generated.
"""

from __future__ import annotations

import base64
import sys

import anyio

try:  # mcp 1.x
    from mcp.server.fastmcp import Context, FastMCP as Server

    SDK = 1
except ModuleNotFoundError:  # mcp 2.x
    from mcp.server.mcpserver import Context, MCPServer as Server

    SDK = 2

PAGE_SIZE = 10
GENERATED_TOOLS = 30
ITEMS = 25
GENERATED_PROMPTS = 12

mcp = Server("switchyard-interop-fastmcp")


@mcp.tool()
def echo(text: str) -> str:
    """Echoes the text back."""
    return f"echo: {text}"


@mcp.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@mcp.tool()
async def count_slowly(steps: int, ctx: Context) -> str:
    """Counts to `steps`, reporting progress at each step."""
    for i in range(1, steps + 1):
        await anyio.sleep(0.05)
        await ctx.report_progress(i, steps, f"step {i} of {steps}")
    return f"counted to {steps}"


def _generated_tool(i: int):
    def tool(x: str = "") -> str:
        return f"generated tool {i}: {x}"

    tool.__doc__ = f"Generated tool number {i}, there to fill pages."
    return tool


for _i in range(GENERATED_TOOLS):
    mcp.tool(name=f"generated_tool_{_i:02d}")(_generated_tool(_i))


@mcp.resource("info://server", mime_type="text/plain")
def info() -> str:
    """What this server is."""
    return "switchyard interop fastmcp server"


def _item(i: int):
    def item() -> str:
        return f"item {i}: " + "x" * i

    return item


for _i in range(ITEMS):
    mcp.resource(f"data://items/{_i}", name=f"item_{_i}", mime_type="text/plain")(_item(_i))


@mcp.resource("greeting://{name}", mime_type="text/plain")
def greeting(name: str) -> str:
    """A greeting for `name`."""
    return f"Hello, {name}!"


@mcp.prompt()
def review_code(code: str) -> str:
    """Asks for a code review."""
    return f"Please review this code:\n\n{code}"


@mcp.prompt()
def summarise(text: str, words: str = "20") -> str:
    """Asks for a summary."""
    return f"Summarise the following in {words} words:\n\n{text}"


def _generated_prompt(i: int):
    def prompt() -> str:
        return f"generated prompt {i}"

    return prompt


for _i in range(GENERATED_PROMPTS):
    mcp.prompt(name=f"generated_prompt_{_i:02d}")(_generated_prompt(_i))


# --- pagination ---------------------------------------------------------------------------


def _cursor(i: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{i}".encode()).decode()


def _page(items: list, cursor: str | None) -> tuple[list, str | None]:
    start = 0
    if cursor is not None:
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            assert text.startswith("offset:")
            start = int(text[len("offset:") :])
            assert 0 <= start <= len(items)
        except Exception:
            _invalid_cursor(cursor)
    end = start + PAGE_SIZE
    return items[start:end], (_cursor(end) if end < len(items) else None)


if SDK == 1:
    from mcp import types
    from mcp.shared.exceptions import McpError

    def _invalid_cursor(cursor: str):
        raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"invalid cursor {cursor!r}"))

    def _paged(request_type, result_type, field, source, decorator):
        async def handler(req):
            items = list(await source())
            if req is None:
                # The SDK refreshes its tool cache (for input validation) with a bare call.
                return result_type(**{field: items})
            page, nxt = _page(items, req.params.cursor if req.params else None)
            return result_type(**{field: page, "nextCursor": nxt})

        # The annotation tells the SDK's decorator to pass the request (the paginated style).
        handler.__annotations__["req"] = request_type
        if decorator is not None:
            decorator()(handler)
        else:  # the SDK's templates decorator has no request-taking form
            mcp._mcp_server.request_handlers[request_type] = lambda req: _wrap(handler, req)

    async def _wrap(handler, req):
        return types.ServerResult(await handler(req))

    low = mcp._mcp_server
    _paged(types.ListToolsRequest, types.ListToolsResult, "tools", mcp.list_tools, low.list_tools)
    _paged(types.ListResourcesRequest, types.ListResourcesResult, "resources", mcp.list_resources, low.list_resources)
    _paged(
        types.ListResourceTemplatesRequest,
        types.ListResourceTemplatesResult,
        "resourceTemplates",
        mcp.list_resource_templates,
        None,
    )
    _paged(types.ListPromptsRequest, types.ListPromptsResult, "prompts", mcp.list_prompts, low.list_prompts)
else:
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    def _invalid_cursor(cursor: str):
        raise MCPError(-32602, f"invalid cursor {cursor!r}")

    def _paged(method, result_type, field, source):
        async def handler(ctx, params):
            page, nxt = _page(list(await source()), params.cursor)
            return result_type(**{field: page, "next_cursor": nxt})

        mcp._lowlevel_server.add_request_handler(method, types.PaginatedRequestParams, handler)

    _paged("tools/list", types.ListToolsResult, "tools", mcp.list_tools)
    _paged("resources/list", types.ListResourcesResult, "resources", mcp.list_resources)
    _paged(
        "resources/templates/list",
        types.ListResourceTemplatesResult,
        "resource_templates",
        mcp.list_resource_templates,
    )
    _paged("prompts/list", types.ListPromptsResult, "prompts", mcp.list_prompts)


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "stdio":
        mcp.run("stdio")
    elif len(sys.argv) == 3 and sys.argv[1] == "http":
        port = int(sys.argv[2])
        if SDK == 1:
            mcp.settings.host = "127.0.0.1"
            mcp.settings.port = port
            mcp.run("streamable-http")
        else:
            mcp.run("streamable-http", host="127.0.0.1", port=port)
    else:
        sys.exit("usage: fastmcp_server.py stdio | http PORT")


if __name__ == "__main__":
    main()
