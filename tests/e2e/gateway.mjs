// The gateway end to end: `switchyard serve --config` federates three upstreams, and the
// official TypeScript SDK 1.x client, signed in through the built-in authorization server
// (dynamic registration, Chromium approving), sees every tool namespaced `<name>__<tool>`,
// calls one tool of each upstream, receives progress through the gateway, and sees
// notifications/tools/list_changed when an upstream's tools change.
//
// Upstreams (started by tests/e2e/gateway.sh):
//   everything   @modelcontextprotocol/server-everything over stdio (Node 22)
//   conformance  the Switchyard example conformance server over Streamable HTTP
//   py           tests/e2e/dynamic_server.py, a Python FastMCP server over Streamable HTTP
//
// Environment: MCP_URL (the gateway), CONFORMANCE_URL, PY_URL (the HTTP upstreams, listed
// directly for comparison), EVERYTHING (server-everything's dist/index.js), LOGIN_USER,
// LOGIN_PASSWORD, ARTIFACTS.
import { join } from 'node:path';
import {
    Client, StreamableHTTPClientTransport, assert, check, fail, summary, watchdog, signIn,
    callbackServer, sdkVersion, requireSdk,
} from './lib.mjs';

const { StdioClientTransport } = requireSdk('@modelcontextprotocol/sdk/client/stdio.js');
const { ToolListChangedNotificationSchema } = requireSdk('@modelcontextprotocol/sdk/types.js');

const mcpUrl = process.env.MCP_URL;
const artifacts = process.env.ARTIFACTS ?? 'target/e2e-artifacts/gateway';
watchdog(110_000, 'e2e gateway');
console.log(`official TypeScript SDK ${sdkVersion} against the gateway at ${mcpUrl}`);

/** Every tool name an upstream lists when asked directly (all pages). */
async function directTools(transport) {
    // The gateway's own client capabilities: servers may offer tools by capability.
    const c = new Client({ name: 'e2e-direct', version: '0.0.0' },
        { capabilities: { sampling: {}, roots: {}, elicitation: { form: {}, url: {} } } });
    await c.connect(transport);
    const names = [];
    let cursor;
    do {
        const page = await c.listTools(cursor ? { cursor } : undefined);
        names.push(...page.tools.map((t) => t.name));
        cursor = page.nextCursor;
    } while (cursor);
    await c.close();
    return names.sort();
}

async function allTools(client) {
    const tools = [];
    let cursor;
    do {
        const page = await client.listTools(cursor ? { cursor } : undefined);
        tools.push(...page.tools);
        cursor = page.nextCursor;
    } while (cursor);
    return tools;
}

const text = (r) => (r.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');

// ---- sign in through the built-in authorization server ------------------------------------
const callback = await callbackServer();
let session = null;
await check('sign in to the gateway: DCR, Chromium approves, SDK redeems the code', async () => {
    session = await signIn(mcpUrl, { clientName: 'e2e TypeScript SDK (gateway)', callback, artifacts });
    return `client_id ${session.provider.registered.client_id}`;
}, 60_000);
callback.close();
if (!session) {
    fail('gateway', 'not signed in; the remaining checks need a session');
    summary('e2e gateway');
    process.exit();
}
const client = session.client;
let listChanged = 0;
let onListChanged = () => {};
client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged++;
    onListChanged();
});

// ---- namespacing ------------------------------------------------------------------------
const upstreams = {
    everything: () => new StdioClientTransport({
        command: process.execPath, args: [process.env.EVERYTHING, 'stdio'], stderr: 'ignore',
    }),
    conformance: () => new StreamableHTTPClientTransport(new URL(process.env.CONFORMANCE_URL)),
    py: () => new StreamableHTTPClientTransport(new URL(process.env.PY_URL)),
};
let names = [];
await check('tools/list through the gateway: every name is <upstream>__<tool>', async () => {
    names = (await allTools(client)).map((t) => t.name);
    const stray = names.filter((n) => !Object.keys(upstreams).some((u) => n.startsWith(`${u}__`)));
    assert(stray.length === 0, `names without an upstream prefix: ${stray.join(', ')}`);
    return `${names.length} tools`;
});
for (const [name, transport] of Object.entries(upstreams)) {
    await check(`${name}: the gateway lists exactly ${name}__<tool> for each tool it lists directly`, async () => {
        const direct = await directTools(transport());
        const through = names.filter((n) => n.startsWith(`${name}__`)).map((n) => n.slice(name.length + 2)).sort();
        assert(direct.length > 0, 'the upstream lists no tools');
        const missing = direct.filter((n) => !through.includes(n));
        const extra = through.filter((n) => !direct.includes(n));
        assert(missing.length === 0 && extra.length === 0,
            `missing through the gateway: [${missing}], not listed directly: [${extra}]`);
        return `${direct.length} tools`;
    });
}

// ---- one call per upstream ---------------------------------------------------------------
await check('everything__get-sum (stdio upstream)', async () => {
    const r = await client.callTool({ name: 'everything__get-sum', arguments: { a: 19, b: 23 } });
    assert(!r.isError && text(r) === 'The sum of 19 and 23 is 42.', `got ${JSON.stringify(r)}`);
    return text(r);
});
await check('conformance__test_simple_text (HTTP upstream)', async () => {
    const r = await client.callTool({ name: 'conformance__test_simple_text', arguments: {} });
    assert(!r.isError && text(r) === 'This is a simple text response for testing.', `got ${JSON.stringify(r)}`);
    return text(r);
});
await check('py__shout (FastMCP upstream)', async () => {
    const r = await client.callTool({ name: 'py__shout', arguments: { text: 'through the gateway' } });
    assert(!r.isError && text(r) === 'THROUGH THE GATEWAY', `got ${JSON.stringify(r)}`);
    return text(r);
});

// ---- progress ----------------------------------------------------------------------------
await check('everything__trigger-long-running-operation: progress relayed from stdio', async () => {
    const seen = [];
    const r = await client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 4 } },
        undefined,
        { onprogress: (p) => seen.push(p), timeout: 20_000 },
    );
    assert(!r.isError, `error: ${text(r)}`);
    const got = seen.map((p) => `${p.progress}/${p.total}`).join(' ');
    assert(got === '1/4 2/4 3/4 4/4', `progress ${got || 'none'}`);
    return `progress ${got}`;
});
await check('conformance__test_tool_with_progress: progress relayed from HTTP', async () => {
    const seen = [];
    const r = await client.callTool(
        { name: 'conformance__test_tool_with_progress', arguments: {} },
        undefined,
        { onprogress: (p) => seen.push(p) },
    );
    assert(!r.isError && text(r) === 'Progress complete', `got ${JSON.stringify(r)}`);
    const got = seen.map((p) => `${p.progress}/${p.total}`).join(' ');
    assert(got === '0/100 50/100 100/100', `progress ${got || 'none'}`);
    return `progress ${got}, messages ${seen.map((p) => p.message).join(', ')}`;
});

// ---- list changed ------------------------------------------------------------------------
await check('py__add_tool: list_changed reaches the client, then py__late_tool is listed and works', async () => {
    const before = listChanged;
    const changed = new Promise((ok) => { onListChanged = ok; });
    const r = await client.callTool({ name: 'py__add_tool', arguments: { name: 'late_tool' } });
    assert(!r.isError && text(r) === 'added late_tool', `add_tool: ${JSON.stringify(r)}`);
    await Promise.race([
        changed,
        new Promise((_, no) => setTimeout(() => no(new Error('no notifications/tools/list_changed within 10 s')), 10_000)),
    ]);
    assert(listChanged > before, 'no list_changed');
    const now = (await allTools(client)).map((t) => t.name);
    assert(now.includes('py__late_tool'), `py__late_tool not listed: ${now.filter((n) => n.startsWith('py__'))}`);
    const g = await client.callTool({ name: 'py__late_tool', arguments: { who: 'the gateway' } });
    assert(!g.isError && text(g) === 'late_tool greets the gateway', `late_tool: ${JSON.stringify(g)}`);
    return `${listChanged - before} notification(s); ${text(g)}`;
});

await client.close();
summary('e2e gateway');
