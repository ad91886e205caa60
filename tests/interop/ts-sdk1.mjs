// Interop: the official TypeScript SDK 1.x client (@modelcontextprotocol/sdk)
// against the example conformance server, over Streamable HTTP, and optionally over
// stdio (spawning `<binary> --stdio`) and the 2024-11-05 HTTP+SSE transport.
//
//   node tests/interop/ts-sdk1.mjs <url> [--stdio <server-binary>] [--sse <sse-url>]
import {
    requireSdk, parseArgs, scenario, check, summary, watchdog, assert,
    samplingState, samplingReply, spy, sdkVersion, CALL_TIMEOUT_MS
} from './lib.mjs';

const { Client } = requireSdk('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = requireSdk('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { SSEClientTransport } = requireSdk('@modelcontextprotocol/sdk/client/sse.js');
const { StdioClientTransport } = requireSdk('@modelcontextprotocol/sdk/client/stdio.js');
const { CreateMessageRequestSchema } = requireSdk('@modelcontextprotocol/sdk/types.js');
const version = sdkVersion('@modelcontextprotocol/sdk');

const { url, binary, sse } = parseArgs('ts-sdk1.mjs');
watchdog(60_000, 'ts-sdk1');

async function run(tag, makeTransport) {
    const sampling = samplingState();
    const client = new Client({ name: 'switchyard-interop-sdk1', version: '0.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async req => samplingReply(sampling, req));
    const opts = { timeout: CALL_TIMEOUT_MS };
    const transport = makeTransport();
    const wire = spy(transport);
    const ok = await check(`${tag}: connect`, async () => {
        await client.connect(transport, opts);
        const info = client.getServerVersion();
        assert(info?.name === 'mcp-conformance-test-server', `serverInfo ${JSON.stringify(info)}`);
        assert(wire.version === '2025-11-25', `negotiated ${wire.version}`);
        return `protocol ${wire.version}, sdk ${version}`;
    });
    if (!ok) {
        await client.close().catch(() => {});
        return;
    }
    await scenario(tag, {
        listTools: () => client.listTools(undefined, opts),
        callTool: (name, args, onprogress) =>
            client.callTool({ name, arguments: args }, undefined, onprogress ? { ...opts, onprogress } : opts),
        readResource: uri => client.readResource({ uri }, opts),
        getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, opts)
    }, sampling, wire);
    await check(`${tag}: close`, () => client.close());
}

await run('sdk1/http', () => new StreamableHTTPClientTransport(new URL(url)));
if (binary) {
    await run('sdk1/stdio', () => new StdioClientTransport({ command: binary, args: ['--stdio'], stderr: 'ignore' }));
}
if (sse) {
    // The transport is the 2024-11-05 one; the protocol version is still negotiated by
    // initialize, and the server accepts the client's latest (2025-11-25).
    await run('sdk1/sse', () => new SSEClientTransport(new URL(sse)));
}
process.exit(summary('ts-sdk1'));
