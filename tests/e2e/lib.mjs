// Shared by the end-to-end tests: PASS/FAIL bookkeeping, and the official TypeScript SDK 1.x
// client (@modelcontextprotocol/sdk) signing in to `switchyard serve`'s built-in authorization
// server through its own OAuth code (client/auth.js), with headless Chromium as the user
// (tests/browser/consent.mjs signs in and approves).
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
export const requireSdk = createRequire(join(repoRoot, 'tools', 'interop', 'package.json'));

const { Client } = requireSdk('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = requireSdk('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { UnauthorizedError } = requireSdk('@modelcontextprotocol/sdk/client/auth.js');
export { Client, StreamableHTTPClientTransport };
export const sdkVersion = JSON.parse(readFileSync(
    join(repoRoot, 'tools', 'interop', 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'), 'utf8')).version;

// ---- checks ---------------------------------------------------------------------------------

let passed = 0;
let failed = 0;

/** A failed expectation: its message says what was seen. */
export class CheckFailed extends Error {}

export function assert(cond, msg) {
    if (!cond) throw new CheckFailed(msg);
}

/** Runs one named check under a time limit; `fn` returns an optional detail or throws. */
export async function check(label, fn, timeoutMs = 30_000) {
    let timer;
    try {
        const detail = await Promise.race([
            Promise.resolve().then(fn),
            new Promise((_, reject) => {
                timer = setTimeout(() => reject(new CheckFailed(`timed out after ${timeoutMs} ms`)), timeoutMs);
            }),
        ]);
        passed++;
        console.log(`PASS ${label}${detail ? ` (${detail})` : ''}`);
        return true;
    } catch (e) {
        failed++;
        const why = e instanceof CheckFailed ? e.message : String(e?.stack ?? e);
        console.log(`FAIL ${label}: ${why}`.split('\n').slice(0, 6).join('\n    '));
        return false;
    } finally {
        clearTimeout(timer);
    }
}

/** Records a failure of a step that other checks depended on. */
export function fail(label, why) {
    failed++;
    console.log(`FAIL ${label}: ${why}`);
}

/** Prints the count line and sets the exit status. */
export function summary(name) {
    console.log(`${name}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

/** Ends the process if the whole script overruns `ms` (a hung step must not hang CI). */
export function watchdog(ms, name) {
    setTimeout(() => {
        console.log(`FAIL ${name}: overran ${ms} ms`);
        summary(name);
        process.exit(1);
    }, ms).unref();
}

// ---- OAuth: the SDK's provider interface, kept in memory ------------------------------------

/**
 * An OAuthClientProvider (SDK 1.x) for a native app with a loopback redirect. With
 * `clientMetadataUrl` the SDK uses it as the client_id (a client ID metadata document) when the
 * authorization server advertises support; without it, the SDK registers dynamically (RFC 7591).
 */
export class MemoryProvider {
    constructor({ redirectUrl, clientName, clientMetadataUrl }) {
        this._redirectUrl = redirectUrl;
        this._clientName = clientName;
        if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
        this._state = randomBytes(16).toString('base64url');
        this.authorizationUrl = null;
        this.registered = null;
    }
    get redirectUrl() { return this._redirectUrl; }
    get clientMetadata() {
        return {
            client_name: this._clientName,
            redirect_uris: [this._redirectUrl],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
        };
    }
    state() { return this._state; }
    clientInformation() { return this._client; }
    saveClientInformation(info) { this._client = info; this.registered = info; }
    tokens() { return this._tokens; }
    saveTokens(tokens) { this._tokens = tokens; }
    redirectToAuthorization(url) { this.authorizationUrl = new URL(url); }
    saveCodeVerifier(v) { this._verifier = v; }
    codeVerifier() { return this._verifier; }
}

/** A loopback HTTP server standing in for the app's redirect handler. */
export async function callbackServer() {
    let deliver;
    const received = new Promise((ok) => { deliver = ok; });
    const server = createServer((req, res) => {
        const u = new URL(req.url, 'http://127.0.0.1');
        if (u.pathname === '/callback') deliver(u.searchParams);
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>signed in; you may close this window</p>');
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${server.address().port}/callback`;
    return { url, received, close: () => server.close() };
}

/** Runs tests/browser/consent.mjs on an authorization URL: Chromium signs in and approves. */
export function browserApprove(authorizationUrl, artifacts) {
    return new Promise((ok, reject) => {
        const child = spawn(process.execPath, [join(repoRoot, 'tests', 'browser', 'consent.mjs')], {
            env: {
                ...process.env,
                AUTH_URL: authorizationUrl.toString(),
                ARTIFACTS: artifacts,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? ok(out) : reject(new CheckFailed(`consent.mjs exited ${code}: ${out.trim().split('\n').slice(-4).join(' | ')}`))));
    });
}

/**
 * The SDK's whole OAuth flow against an MCP endpoint: the first connect meets 401 and the SDK
 * discovers, registers (or uses the metadata URL) and asks to redirect; Chromium approves; the
 * SDK redeems the code (finishAuth); a second connect carries the token. Returns the connected
 * client, the provider and what the callback received.
 */
export async function signIn(mcpUrl, { clientName, clientMetadataUrl, callback, artifacts, clientOptions = {} }) {
    const provider = new MemoryProvider({ redirectUrl: callback.url, clientName, clientMetadataUrl });
    const first = new Client({ name: clientName, version: '0.0.0' });
    let err = null;
    try {
        await first.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    } catch (e) {
        err = e;
    }
    await first.close().catch(() => {});
    assert(err instanceof UnauthorizedError, `first connect should need authorization, got ${err}`);
    assert(provider.authorizationUrl, 'the SDK did not ask to redirect to the authorization endpoint');
    try {
        await browserApprove(provider.authorizationUrl, artifacts);
    } catch (e) {
        // Say what the authorization server answered (an error page, typically) if it was no form.
        const r = await fetch(provider.authorizationUrl, { redirect: 'manual' }).catch(() => null);
        const page = r && r.status >= 400
            ? ` (GET /authorize: ${r.status} ${(await r.text()).replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/g, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)})`
            : '';
        throw new CheckFailed(`${e.message}${page}`);
    }
    const params = await callback.received;
    assert(!params.get('error'), `authorization error ${params.get('error')}: ${params.get('error_description')}`);
    assert(params.get('state') === provider.state(), 'state did not come back unchanged');
    const code = params.get('code');
    assert(code, 'no code in the redirect');
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    await transport.finishAuth(code);
    assert(provider.tokens()?.access_token, 'finishAuth stored no access token');
    const client = new Client({ name: clientName, version: '0.0.0' }, clientOptions);
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
    return { client, provider, params };
}

/** The payload of an unverified JWT (to report what a token claims, not to trust it). */
export function jwtClaims(token) {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}
