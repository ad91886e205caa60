// Interop: the official TypeScript SDK 2.x client (@modelcontextprotocol/client)
// against the example conformance server. 2.x connects with the 2025 `initialize`
// handshake unless told otherwise, so each transport runs twice: the default
// (legacy) and `versionNegotiation: 'auto'`, which probes `server/discover` and
// must land on the 2026-07-28 stateless era.
//
//   node tests/interop/ts-client2.mjs <url> [--stdio <server-binary>] [--sse <sse-url>]
//
// With a server binary the scenarios also run over stdio (`<binary> --stdio`); with an
// SSE URL the legacy-mode scenario also runs over the 2024-11-05 HTTP+SSE transport.
import {
    requireSdk, parseArgs, scenario, check, summary, watchdog, assert,
    samplingState, samplingReply, spy, sdkVersion, CALL_TIMEOUT_MS
} from './lib.mjs';

const { Client, StreamableHTTPClientTransport, SSEClientTransport } = requireSdk('@modelcontextprotocol/client');
const { StdioClientTransport } = requireSdk('@modelcontextprotocol/client/stdio');
const version = sdkVersion('@modelcontextprotocol/client');

const { url, binary, sse } = parseArgs('ts-client2.mjs');
watchdog(90_000, 'ts-client2');

const ERA = { legacy: ['legacy', '2025-11-25'], auto: ['modern', '2026-07-28'] };

async function run(tag, mode, makeTransport) {
    const sampling = samplingState();
    const client = new Client(
        { name: 'switchyard-interop-client2', version: '0.0.0' },
        { capabilities: { sampling: {} }, ...(mode === 'legacy' ? {} : { versionNegotiation: { mode } }) }
    );
    client.setRequestHandler('sampling/createMessage', async req => samplingReply(sampling, req));
    const opts = { timeout: CALL_TIMEOUT_MS };
    const transport = makeTransport();
    const wire = spy(transport);
    const ok = await check(`${tag}: connect (versionNegotiation ${mode})`, async () => {
        await client.connect(transport, opts);
        const [era, protocol] = ERA[mode];
        const got = client.getNegotiatedProtocolVersion();
        assert(client.getProtocolEra() === era, `era ${client.getProtocolEra()}, want ${era}`);
        assert(got === protocol, `negotiated ${got}, want ${protocol}`);
        const info = client.getServerVersion();
        assert(info?.name === 'mcp-conformance-test-server', `serverInfo ${JSON.stringify(info)}`);
        return `protocol ${got}, era ${era}, client ${version}`;
    });
    if (!ok) {
        await client.close().catch(() => {});
        return;
    }
    await scenario(tag, {
        listTools: () => client.listTools(undefined, opts),
        callTool: (name, args, onprogress) =>
            client.callTool({ name, arguments: args }, onprogress ? { ...opts, onprogress } : opts),
        readResource: uri => client.readResource({ uri }, { ...opts, cacheMode: 'bypass' }),
        getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, opts)
    }, sampling, wire);
    await check(`${tag}: sampling travelled the era's way`, () => {
        // 2025: a server-to-client sampling/createMessage request; 2026-07-28: no such
        // request, an input_required result the client fulfils and retries instead.
        const asked = wire.events.filter(m => m.method === 'sampling/createMessage').length;
        const inputRequired = wire.events.filter(m => m.result?.resultType === 'input_required').length;
        if (mode === 'legacy') {
            assert(asked >= 1 && inputRequired === 0, `${asked} sampling requests, ${inputRequired} input_required results`);
            return `${asked} sampling/createMessage request`;
        }
        assert(asked === 0 && inputRequired >= 1, `${asked} sampling requests, ${inputRequired} input_required results`);
        return `${inputRequired} input_required result`;
    });
    await check(`${tag}: close`, () => client.close());
}

for (const mode of ['legacy', 'auto']) {
    const era = ERA[mode][1];
    await run(`client2/http/${era}`, mode, () => new StreamableHTTPClientTransport(new URL(url)));
    if (binary) {
        await run(`client2/stdio/${era}`, mode,
            () => new StdioClientTransport({ command: binary, args: ['--stdio'], stderr: 'ignore' }));
    }
}
if (sse) {
    await run('client2/sse/2025-11-25', 'legacy', () => new SSEClientTransport(new URL(sse)));
}
process.exit(summary('ts-client2'));
