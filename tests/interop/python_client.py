"""Interop: the official Python SDK (PyPI `mcp`) against the example conformance server.

    python tests/interop/python_client.py <url> [--stdio <server-binary>] [--sse <sse-url>]

Works with `mcp` 1.x (`ClientSession` over `streamable_http_client` / `stdio_client`, the
2025 `initialize` handshake) and 2.x (`mcp.Client`, run twice: `mode="legacy"` and the
default `mode="auto"`, which must negotiate the 2026-07-28 era). With a server binary the
same scenarios also run over stdio (`<binary> --stdio`); with an SSE URL the 2025 scenario
also runs over the 2024-11-05 HTTP+SSE transport. Prints one PASS/FAIL line per check.
"""

from __future__ import annotations

import json
import secrets
import sys
import traceback
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.metadata import version as dist_version
from typing import Any, AsyncIterator, Awaitable, Callable

import anyio
import mcp
from mcp import types
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

MCP_VERSION = dist_version("mcp")
MAJOR = int(MCP_VERSION.split(".")[0])
CALL_TIMEOUT = 10.0
SIMPLE_TEXT = "This is a simple text response for testing."
STATIC_TEXT = "This is the content of the static text resource."

passed = 0
failed = 0


def nonce() -> str:
    return secrets.token_hex(4)


def dump(model: Any) -> Any:
    """A result as its wire-shaped dict (camelCase), the same on mcp 1.x and 2.x."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


class CheckFailed(Exception):
    pass


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise CheckFailed(msg)


async def check(label: str, fn: Callable[[], Awaitable[str | None]]) -> bool:
    global passed, failed
    try:
        with anyio.fail_after(CALL_TIMEOUT + 2):
            detail = await fn()
        passed += 1
        print(f"PASS {label}" + (f" ({detail})" if detail else ""), flush=True)
        return True
    except CheckFailed as e:
        failed += 1
        print(f"FAIL {label}: {e}", flush=True)
    except BaseException as e:  # noqa: BLE001 - any error is a failed check, including timeouts
        if isinstance(e, KeyboardInterrupt):
            raise
        failed += 1
        tb = traceback.format_exception(e)[-3:]
        print(f"FAIL {label}: {type(e).__name__}: {e}\n    " + "    ".join(tb).rstrip(), flush=True)
    return False


class Sampling:
    """The client's sampling handler: answers with a per-run text, records the prompts it saw."""

    def __init__(self) -> None:
        self.answer = f"sampled answer {nonce()}"
        self.seen: list[str | None] = []

    async def __call__(self, context: Any, params: Any) -> Any:
        msg = dump(params)["messages"][-1]
        content = msg["content"][0] if isinstance(msg["content"], list) else msg["content"]
        self.seen.append(content.get("text"))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=self.answer),
            model="interop-stub-model",
        )


def texts(result: dict) -> list[str]:
    return [b["text"] for b in result.get("content", []) if b.get("type") == "text"]


async def scenario(tag: str, api: Any, sampling: Sampling) -> None:
    """`api` has list_tools(), call_tool(name, args, progress), read_resource(uri), get_prompt(name, args)."""

    async def tools_list() -> str:
        tools = dump(await api.list_tools())["tools"]
        names = [t["name"] for t in tools]
        expect("test_simple_text" in names, f"test_simple_text missing from {names}")
        expect(len(tools) > 10, f"only {len(tools)} tools")
        return f"{len(tools)} tools"

    async def simple_text() -> None:
        r = dump(await api.call_tool("test_simple_text", {}))
        expect(not r.get("isError"), f"isError: {r}")
        expect(texts(r) == [SIMPLE_TEXT], f"got {r.get('content')}")

    async def progress() -> str:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            seen.append((p, total, message))

        r = dump(await api.call_tool("test_tool_with_progress", {}, on_progress))
        expect(not r.get("isError"), f"isError: {r}")
        expect(texts(r) == ["Progress complete"], f"got {r.get('content')}")
        expect(len(seen) >= 3, f"{len(seen)} progress callbacks: {seen}")
        values = [p for p, _, _ in seen]
        expect(all(b > a for a, b in zip(values, values[1:])), f"progress not increasing: {values}")
        expect(all(t == 100 for _, t, _ in seen), f"total not 100: {seen}")
        return "progress " + ",".join(f"{v:g}" for v in values)

    async def sampling_call() -> None:
        prompt = f"interop prompt {nonce()}"
        before = len(sampling.seen)
        r = dump(await api.call_tool("test_sampling", {"prompt": prompt}))
        expect(not r.get("isError"), f"isError: {r}")
        expect(len(sampling.seen) > before, "the sampling callback was never called")
        expect(sampling.seen[-1] == prompt, f"callback saw {sampling.seen[-1]!r}, sent {prompt!r}")
        expect("".join(texts(r)) == f"LLM response: {sampling.answer}", f"got {r.get('content')}")

    async def static_text() -> None:
        r = dump(await api.read_resource("test://static-text"))
        expect(len(r["contents"]) == 1, f"{len(r['contents'])} contents")
        c = r["contents"][0]
        expect(c["uri"] == "test://static-text", f"uri {c['uri']}")
        expect(c.get("text") == STATIC_TEXT, f"got {c}")

    async def template() -> None:
        r = dump(await api.read_resource("test://template/42/data"))
        c = r["contents"][0]
        expect(c["uri"] == "test://template/42/data", f"got {r['contents']}")
        body = json.loads(c["text"])
        expect(body.get("id") == "42" and "42" in body.get("data", ""), f"got {c['text']}")

    async def prompt() -> None:
        a, b = f"alpha-{nonce()}", f"beta-{nonce()}"
        r = dump(await api.get_prompt("test_prompt_with_arguments", {"arg1": a, "arg2": b}))
        t = "\n".join(m["content"].get("text", "") for m in r["messages"])
        expect(a in t and b in t, f"got {r['messages']}")

    await check(f"{tag}: tools/list", tools_list)
    await check(f"{tag}: tools/call test_simple_text", simple_text)
    await check(f"{tag}: tools/call test_tool_with_progress + progress callback", progress)
    await check(f"{tag}: tools/call test_sampling (sampling_callback)", sampling_call)
    await check(f"{tag}: resources/read test://static-text", static_text)
    await check(f"{tag}: resources/read test://template/42/data", template)
    await check(f"{tag}: prompts/get test_prompt_with_arguments", prompt)


def server_name(info: Any) -> str | None:
    return dump(info).get("name") if info is not None else None


# --- mcp 1.x: ClientSession over a transport context manager ---------------------------


class V1Api:
    def __init__(self, session: Any) -> None:
        self.s = session
        self.t = timedelta(seconds=CALL_TIMEOUT)

    async def list_tools(self) -> Any:
        return await self.s.list_tools()

    async def call_tool(self, name: str, args: dict, progress: Any = None) -> Any:
        return await self.s.call_tool(name, args, read_timeout_seconds=self.t, progress_callback=progress)

    async def read_resource(self, uri: str) -> Any:
        return await self.s.read_resource(uri)

    async def get_prompt(self, name: str, args: dict) -> Any:
        return await self.s.get_prompt(name, args)


def describe(e: BaseException) -> str:
    """An exception, with task-group wrappers peeled off down to the first real cause."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return f"{type(e).__name__}: {e}"


async def run_v1(tag: str, transport: Any) -> None:
    global failed
    try:
        with anyio.fail_after(6 * CALL_TIMEOUT):
            await session_v1(tag, transport)
    except Exception as e:  # noqa: BLE001 - a failed connect or close is a failed check
        failed += 1
        print(f"FAIL {tag}: {describe(e)}", flush=True)


async def session_v1(tag: str, transport: Any) -> None:
    sampling = Sampling()
    async with transport as streams:
        read, write = streams[0], streams[1]
        async with mcp.ClientSession(
            read, write, read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT), sampling_callback=sampling
        ) as session:
            init: dict = {}

            async def connect() -> str:
                init.update(dump(await session.initialize()))
                v = init.get("protocolVersion")
                expect(v == "2025-11-25", f"negotiated {v}")
                expect(init.get("serverInfo", {}).get("name") == "mcp-conformance-test-server", f"serverInfo {init}")
                return f"protocol {v}, mcp {MCP_VERSION}"

            if await check(f"{tag}: connect", connect):
                await scenario(tag, V1Api(session), sampling)


# --- mcp 2.x: the high-level mcp.Client --------------------------------------------------


class V2Api:
    def __init__(self, client: Any) -> None:
        self.c = client

    async def list_tools(self) -> Any:
        return await self.c.list_tools()

    async def call_tool(self, name: str, args: dict, progress: Any = None) -> Any:
        return await self.c.call_tool(name, args, read_timeout_seconds=CALL_TIMEOUT, progress_callback=progress)

    async def read_resource(self, uri: str) -> Any:
        return await self.c.read_resource(uri, cache_mode="bypass")

    async def get_prompt(self, name: str, args: dict) -> Any:
        return await self.c.get_prompt(name, args)


async def run_v2(tag: str, server: Any, mode: str, want: str) -> None:
    global failed
    sampling = Sampling()
    try:
        # The connection's task groups must nest inside any cancel scope, so the time limit
        # wraps the whole connection rather than the connect step alone.
        with anyio.fail_after(6 * CALL_TIMEOUT):
            async with mcp.Client(
                server, mode=mode, sampling_callback=sampling, read_timeout_seconds=CALL_TIMEOUT
            ) as client:

                async def connect() -> str:
                    v = client.protocol_version
                    expect(v == want, f"negotiated {v}, want {want}")
                    name = server_name(client.server_info)
                    expect(name == "mcp-conformance-test-server", f"serverInfo {client.server_info}")
                    return f"protocol {v}, mode {mode}, mcp {MCP_VERSION}"

                if await check(f"{tag}: connect", connect):
                    await scenario(tag, V2Api(client), sampling)
    except Exception as e:  # noqa: BLE001 - a failed connect or close is a failed check
        failed += 1
        print(f"FAIL {tag}: {describe(e)}", flush=True)


async def main(url: str, binary: str | None, sse: str | None) -> None:
    stdio = StdioServerParameters(command=binary, args=["--stdio"]) if binary else None
    if MAJOR < 2:
        await run_v1(f"py-mcp{MAJOR}/http/2025-11-25", streamable_http_client(url))
        if stdio:
            await run_v1(f"py-mcp{MAJOR}/stdio/2025-11-25", stdio_client(stdio))
        if sse:
            await run_v1(f"py-mcp{MAJOR}/sse/2025-11-25", sse_client(sse))
        return
    for mode, want in (("legacy", "2025-11-25"), ("auto", "2026-07-28")):
        await run_v2(f"py-mcp{MAJOR}/http/{want}", url, mode, want)
        if stdio:
            await run_v2(f"py-mcp{MAJOR}/stdio/{want}", stdio, mode, want)
    if sse:
        await run_v2(f"py-mcp{MAJOR}/sse/2025-11-25", sse_client(sse), "legacy", "2025-11-25")


def parse_args(argv: list[str]) -> tuple[str, str | None, str | None]:
    usage = "usage: python_client.py <url> [--stdio <server-binary>] [--sse <sse-url>]"
    if not argv or len(argv) % 2 == 0:
        sys.exit(usage)
    opts = dict(zip(argv[1::2], argv[2::2]))
    if set(opts) - {"--stdio", "--sse"}:
        sys.exit(usage)
    return argv[0], opts.get("--stdio"), opts.get("--sse")


if __name__ == "__main__":
    url, binary, sse = parse_args(sys.argv[1:])

    async def bounded() -> None:
        with anyio.fail_after(90):
            await main(url, binary, sse)

    try:
        anyio.run(bounded)
    except TimeoutError:
        failed += 1
        print(f"FAIL py-mcp{MAJOR}: the whole script timed out", flush=True)
    except BaseException as e:  # noqa: BLE001
        failed += 1
        print(f"FAIL py-mcp{MAJOR}: {describe(e)}", flush=True)
    print(f"py-mcp{MAJOR} summary: {passed} checks passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 and passed > 0 else 1)
