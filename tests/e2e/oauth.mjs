// The official TypeScript SDK 1.x client's own OAuth flow against `switchyard serve`'s built-in
// authorization server, twice: with dynamic client registration (RFC 7591) and with a client ID
// metadata document served by this script over https on loopback. Each flow then calls a
// protected tool. Last, a token minted for this endpoint is refused by another endpoint that
// trusts the same issuer (a token for another resource).
//
// Run by tests/e2e/oauth.sh, which starts the servers. Environment:
//   MCP_URL          the endpoint of `switchyard serve` (built-in AS, demo server)
//   OTHER_MCP_URL    a second endpoint trusting the same issuer (auth.mode = "external")
//   TLS_KEY, TLS_CERT  a self-signed certificate for 127.0.0.1 (the metadata document's server)
//   LOGIN_USER, LOGIN_PASSWORD  read by tests/browser/consent.mjs
//   ARTIFACTS        screenshot directory
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
    assert, check, fail, summary, watchdog, signIn, callbackServer, jwtClaims, sdkVersion,
} from './lib.mjs';

const mcpUrl = process.env.MCP_URL;
const otherUrl = process.env.OTHER_MCP_URL;
const artifacts = process.env.ARTIFACTS ?? 'target/e2e-artifacts';
watchdog(110_000, 'e2e oauth');
console.log(`official TypeScript SDK ${sdkVersion} against ${mcpUrl}`);

/** Calls the demo server's `add` and checks the structured sum. */
async function callAdd(client) {
    const r = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    assert(!r.isError, `add returned an error: ${JSON.stringify(r.content)}`);
    assert(r.structuredContent?.sum === 42, `add(2, 40) gave ${JSON.stringify(r.structuredContent ?? r.content)}`);
    return 'add(2, 40) = 42';
}

// ---- 1. dynamic client registration ------------------------------------------------------
let dcrToken = null;
{
    const callback = await callbackServer();
    let session = null;
    await check('DCR: SDK registers, Chromium signs in and approves, SDK redeems the code', async () => {
        session = await signIn(mcpUrl, {
            clientName: 'e2e TypeScript SDK (DCR)', callback, artifacts: join(artifacts, 'dcr'),
        });
        const reg = session.provider.registered;
        assert(reg?.client_id && !reg.client_id.startsWith('http'), `no registered client_id: ${JSON.stringify(reg)}`);
        assert(session.provider.authorizationUrl.searchParams.get('code_challenge_method') === 'S256', 'PKCE S256 not used');
        assert(session.params.get('iss'), 'no iss in the authorization response (RFC 9207)');
        const claims = jwtClaims(session.provider.tokens().access_token);
        assert(claims.aud === mcpUrl, `token audience ${claims.aud}, expected ${mcpUrl}`);
        assert(claims.client_id === reg.client_id, `token client_id ${claims.client_id}`);
        dcrToken = session.provider.tokens().access_token;
        return `client_id ${reg.client_id}, aud ${claims.aud}, scope "${claims.scope}"`;
    }, 60_000);
    if (session) {
        await check('DCR: protected tool call with the token', () => callAdd(session.client));
        await session.client.close();
    }
    callback.close();
}

// ---- 2. client ID metadata document -------------------------------------------------------
{
    const callback = await callbackServer();
    const fetches = [];
    let metadataUrl = '';
    const https = createServer(
        { key: readFileSync(process.env.TLS_KEY), cert: readFileSync(process.env.TLS_CERT) },
        (req, res) => {
            fetches.push(req.url);
            if (req.url !== '/oauth/client.json') return res.writeHead(404).end();
            res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify({
                client_id: metadataUrl,
                client_name: 'e2e TypeScript SDK (metadata document)',
                redirect_uris: [callback.url],
                grant_types: ['authorization_code', 'refresh_token'],
                response_types: ['code'],
                token_endpoint_auth_method: 'none',
            }));
        },
    );
    await new Promise((ok) => https.listen(0, '127.0.0.1', ok));
    metadataUrl = `https://127.0.0.1:${https.address().port}/oauth/client.json`;
    let session = null;
    await check('CIMD: SDK uses its metadata URL as client_id, the AS fetches it, Chromium approves', async () => {
        session = await signIn(mcpUrl, {
            clientName: 'e2e TypeScript SDK (metadata document)', clientMetadataUrl: metadataUrl, callback,
            artifacts: join(artifacts, 'cimd'),
        });
        const sent = session.provider.authorizationUrl.searchParams.get('client_id');
        assert(sent === metadataUrl, `authorization request client_id ${sent}, expected ${metadataUrl}`);
        assert(fetches.includes('/oauth/client.json'), `the AS never fetched the document (requests: ${fetches})`);
        const claims = jwtClaims(session.provider.tokens().access_token);
        assert(claims.client_id === metadataUrl, `token client_id ${claims.client_id}`);
        assert(claims.aud === mcpUrl, `token audience ${claims.aud}`);
        return `document fetched ${fetches.length}x, token client_id ${claims.client_id}`;
    }, 60_000);
    if (session) {
        await check('CIMD: protected tool call with the token', () => callAdd(session.client));
        await session.client.close();
    }
    https.close();
    callback.close();
}

// ---- 3. a token for another resource ------------------------------------------------------
if (!dcrToken) {
    fail('token for another resource', 'no token from the DCR flow');
} else {
    await check('a token for this endpoint is refused by another resource with 401 invalid_token', async () => {
        const r = await fetch(otherUrl, {
            method: 'POST',
            headers: {
                authorization: `Bearer ${dcrToken}`,
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
            },
            body: JSON.stringify({
                jsonrpc: '2.0', id: 1, method: 'initialize',
                params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } },
            }),
        });
        const www = r.headers.get('www-authenticate') ?? '';
        assert(r.status === 401, `status ${r.status}`);
        assert(/error="invalid_token"/.test(www), `WWW-Authenticate: ${www}`);
        assert(/another resource/.test(www), `the refusal does not name the audience: ${www}`);
        return www;
    });
    await check('the same token is still accepted by its own resource', async () => {
        const r = await fetch(mcpUrl, {
            method: 'POST',
            headers: {
                authorization: `Bearer ${dcrToken}`,
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
            },
            body: JSON.stringify({
                jsonrpc: '2.0', id: 1, method: 'initialize',
                params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } },
            }),
        });
        assert(r.status === 200, `status ${r.status}`);
        await r.body?.cancel();
        return 'initialize: 200';
    });
}

summary('e2e oauth');
