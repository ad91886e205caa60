// Shared by the TypeScript interop clients: check bookkeeping, timeouts and the
// scenario every client runs against the example server.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');

// The SDKs live in tools/interop/node_modules, not beside these scripts, so
// resolve them from there (CommonJS builds: both SDKs ship one).
export const requireSdk = createRequire(join(repoRoot, 'tools', 'interop', 'package.json'));

export const CALL_TIMEOUT_MS = 10_000;

/** `<url> [--stdio <server-binary>] [--sse <legacy-sse-url>]`, or exits with usage. */
export function parseArgs(script) {
    const [url, ...rest] = process.argv.slice(2);
    const out = { url };
    for (let i = 0; i < rest.length; i += 2) {
        if (rest[i] === '--stdio') out.binary = rest[i + 1];
        else if (rest[i] === '--sse') out.sse = rest[i + 1];
        else out.url = undefined;
    }
    if (!out.url || rest.length % 2) {
        console.error(`usage: ${script} <url> [--stdio <server-binary>] [--sse <legacy-sse-url>]`);
        process.exit(2);
    }
    return out;
}

let passed = 0;
let failed = 0;

/** Runs one named check; `fn` returns an optional detail string or throws. */
export async function check(label, fn) {
    try {
        const detail = await withTimeout(Promise.resolve().then(fn), CALL_TIMEOUT_MS + 2_000, label);
        passed++;
        console.log(`PASS ${label}${detail ? ` (${detail})` : ''}`);
        return true;
    } catch (e) {
        failed++;
        // A failed assertion says what it saw; anything else shows where it was thrown.
        const why = e instanceof CheckFailed ? e.message : String(e?.stack ?? e);
        console.log(`FAIL ${label}: ${why}`.split('\n').slice(0, 4).join('\n    '));
        return false;
    }
}

export function withTimeout(promise, ms, what) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Kills the process if the whole script overruns, whatever is pending. */
export function watchdog(ms, name) {
    setTimeout(() => {
        console.log(`FAIL ${name}: the whole script timed out after ${ms} ms`);
        process.exit(3);
    }, ms).unref();
}

export function summary(name) {
    console.log(`${name} summary: ${passed} checks passed, ${failed} failed`);
    return failed === 0 && passed > 0 ? 0 : 1;
}

class CheckFailed extends Error {}

export function assert(cond, msg) {
    if (!cond) throw new CheckFailed(msg);
}

function texts(content) {
    return (content ?? []).filter(b => b.type === 'text').map(b => b.text);
}

/** A fresh token per run, so a response that merely echoes a fixed string can't pass. */
export const nonce = () => randomBytes(4).toString('hex');

/**
 * The scenario: `api` adapts one SDK's client to
 *   listTools(), callTool(name, args, onprogress?), readResource(uri), getPrompt(name, args)
 * and `sampled` is the text its sampling handler answers with; `samplingSeen`
 * collects the prompts the handler received; `wire` is the transport's `spy`.
 */
export async function scenario(tag, api, sampling, wire) {
    await check(`${tag}: tools/list`, async () => {
        const { tools } = await api.listTools();
        const names = tools.map(t => t.name);
        assert(names.includes('test_simple_text'), `test_simple_text missing from ${names.join(',')}`);
        assert(tools.length > 10, `only ${tools.length} tools`);
        return `${tools.length} tools`;
    });
    await check(`${tag}: tools/call test_simple_text`, async () => {
        const r = await api.callTool('test_simple_text', {});
        assert(!r.isError, `isError: ${JSON.stringify(r)}`);
        const t = texts(r.content);
        assert(t.length === 1 && t[0] === 'This is a simple text response for testing.', `got ${JSON.stringify(r.content)}`);
    });
    await check(`${tag}: tools/call test_tool_with_progress + progress notifications`, async () => {
        const seen = [];
        const mark = wire.events.length;
        const r = await api.callTool('test_tool_with_progress', {}, p => seen.push(p));
        assert(!r.isError, `isError: ${JSON.stringify(r)}`);
        assert(texts(r.content)[0] === 'Progress complete', `got ${JSON.stringify(r.content)}`);
        // What the server sent, in arrival order, up to the response.
        const after = wire.events.slice(mark);
        const end = after.findIndex(m => 'id' in m && !('method' in m));
        const onWire = after.slice(0, end < 0 ? after.length : end).filter(m => m.method === 'notifications/progress').map(m => m.params);
        assert(onWire.length >= 3, `${onWire.length} progress notifications before the response: ${JSON.stringify(onWire)}`);
        const values = onWire.map(p => p.progress);
        assert(values.every((v, i) => i === 0 || v > values[i - 1]), `progress not increasing: ${values}`);
        assert(onWire.every(p => p.total === 100), `total not 100: ${JSON.stringify(onWire)}`);
        // The SDK's callback: TypeScript SDK issue #2580 (open) drops a progress notification that
        // arrives in the same read as the response, so only the last one may go missing here.
        assert(seen.length >= onWire.length - 1 && seen.length >= 2,
            `onprogress saw ${seen.length} of ${onWire.length}: ${JSON.stringify(seen)}`);
        assert(seen.every((p, i) => p.progress === values[i]), `onprogress saw ${JSON.stringify(seen)}`);
        const lost = seen.length < onWire.length ? `; the SDK dropped the last one, its issue #2580` : '';
        return `wire ${values.join(',')}, onprogress ${seen.length}${lost}`;
    });
    await check(`${tag}: tools/call test_sampling (client sampling handler)`, async () => {
        const prompt = `interop prompt ${nonce()}`;
        const before = sampling.seen.length;
        const r = await api.callTool('test_sampling', { prompt });
        assert(!r.isError, `isError: ${JSON.stringify(r)}`);
        assert(sampling.seen.length > before, 'the sampling handler was never called');
        assert(sampling.seen.at(-1) === prompt, `handler saw ${JSON.stringify(sampling.seen.at(-1))}, sent ${prompt}`);
        const t = texts(r.content).join('');
        assert(t === `LLM response: ${sampling.answer}`, `got ${JSON.stringify(r.content)}`);
    });
    await check(`${tag}: resources/read test://static-text`, async () => {
        const r = await api.readResource('test://static-text');
        assert(r.contents.length === 1, `${r.contents.length} contents`);
        const c = r.contents[0];
        assert(c.uri === 'test://static-text', `uri ${c.uri}`);
        assert(c.text === 'This is the content of the static text resource.', `got ${JSON.stringify(c)}`);
    });
    await check(`${tag}: resources/read test://template/42/data`, async () => {
        const r = await api.readResource('test://template/42/data');
        const c = r.contents[0];
        assert(c?.uri === 'test://template/42/data', `got ${JSON.stringify(r.contents)}`);
        const body = JSON.parse(c.text);
        assert(body.id === '42' && body.data.includes('42'), `got ${c.text}`);
    });
    await check(`${tag}: prompts/get test_prompt_with_arguments`, async () => {
        const [a, b] = [`alpha-${nonce()}`, `beta-${nonce()}`];
        const r = await api.getPrompt('test_prompt_with_arguments', { arg1: a, arg2: b });
        const t = r.messages.map(m => m.content?.text ?? '').join('\n');
        assert(t.includes(a) && t.includes(b), `got ${JSON.stringify(r.messages)}`);
    });
}

/** A sampling handler state: the answer it gives and the prompts it saw. */
export function samplingState() {
    return { answer: `sampled answer ${nonce()}`, seen: [] };
}

export function samplingReply(state, request) {
    const msg = request.params.messages.at(-1);
    const content = Array.isArray(msg?.content) ? msg.content[0] : msg?.content;
    state.seen.push(content?.text);
    return { model: 'interop-stub-model', role: 'assistant', content: { type: 'text', text: state.answer } };
}

/**
 * Watches what a transport delivers to the client: every message in order, and the
 * protocolVersion of an initialize result. Install before `connect`.
 */
export function spy(transport) {
    const wire = { version: undefined, events: [] };
    let handler;
    Object.defineProperty(transport, 'onmessage', {
        configurable: true,
        get: () => handler && ((msg, ...rest) => {
            wire.events.push(msg);
            if (msg?.result?.protocolVersion) wire.version = msg.result.protocolVersion;
            if (process.env.INTEROP_TRACE) console.log(`  <- ${JSON.stringify(msg).slice(0, 200)}`);
            return handler(msg, ...rest);
        }),
        set: h => { handler = h; }
    });
    return wire;
}

export function sdkVersion(pkg) {
    for (const dir of requireSdk.resolve.paths(pkg) ?? []) {
        try {
            return JSON.parse(readFileSync(join(dir, pkg, 'package.json'), 'utf8')).version;
        } catch { /* try the next candidate */ }
    }
    return 'unknown';
}
