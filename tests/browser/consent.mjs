// Drives the authorization server's login and consent pages in headless Chromium.
//
// Standalone (default): builds an authorization request with PKCE S256 for CLIENT_ID, walks
// login → consent → redirect, checks code/state/iss, redeems the code at /token, and checks
// that the login page refuses to be framed. Screenshots go to ARTIFACTS.
//
// Conformance (AUTH_URL set): opens the given authorization URL (printed by the conformance
// suite's authorization-code-grant scenario), signs in, approves, and lets the browser follow
// the redirect to the suite's own callback server.
//
// Environment: AS_URL (issuer), CLIENT_ID, REDIRECT_URI, RESOURCE, LOGIN_USER, LOGIN_PASSWORD,
// AUTH_URL (optional), ARTIFACTS (default target/browser-artifacts), CHROMIUM (default
// /usr/bin/chromium).
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const require = createRequire(new URL('../../tools/interop/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const env = (k, d) => process.env[k] ?? d;
const asUrl = env('AS_URL', 'http://127.0.0.1:9411');
const clientId = env('CLIENT_ID', 'browser-client');
const redirectUri = env('REDIRECT_URI', 'http://127.0.0.1:9412/callback');
const resource = env('RESOURCE', '');
const username = env('LOGIN_USER', 'alice');
const password = env('LOGIN_PASSWORD', 'correct horse battery');
const givenAuthUrl = process.env.AUTH_URL;
const artifacts = env('ARTIFACTS', 'target/browser-artifacts');
mkdirSync(artifacts, { recursive: true });

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const state = randomBytes(16).toString('base64url');

function authUrl() {
  if (givenAuthUrl) return givenAuthUrl;
  const u = new URL(`${asUrl}/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    scope: 'mcp:read',
    ...(resource ? { resource } : {}),
  }).toString();
  return u.toString();
}

let callbackServer = null;
// launch() starts Chromium with a fresh temporary profile of its own.
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run',
  ],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const redirectPrefix = givenAuthUrl
    ? new URL(new URL(givenAuthUrl).searchParams.get('redirect_uri')).origin
    : redirectUri;
  let landed = null;
  if (!givenAuthUrl) {
    // Play the client: a callback server on the redirect URI records where the browser lands.
    // (page.route does not see the targets of redirects.)
    const cb = new URL(redirectUri);
    callbackServer = createServer((req, res) => {
      if (req.url.startsWith(cb.pathname)) landed = `${cb.origin}${req.url}`;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>client callback</p>');
    });
    await new Promise((ok) => callbackServer.listen(Number(cb.port), cb.hostname, ok));
  }

  await page.goto(authUrl());
  await page.waitForSelector('#username');
  await page.screenshot({ path: join(artifacts, '1-login.png') });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForSelector('#approve'), page.click('#sign-in')]);
  await page.screenshot({ path: join(artifacts, '2-consent.png') });
  const consentText = await page.textContent('body');
  if (!consentText.includes('Authorize')) fail('consent page does not ask for authorization');

  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(redirectPrefix), { timeout: 15000 }),
    page.click('#approve'),
  ]);
  await page.screenshot({ path: join(artifacts, '3-redirected.png') });
  const back = new URL(landed ?? page.url());
  console.log(`redirected to ${back.origin}${back.pathname} with ${[...back.searchParams.keys()].join(', ')}`);
  if (back.searchParams.get('error')) fail(`authorization error ${back.searchParams.get('error')}`);
  if (!back.searchParams.get('code')) fail('no code in the redirect');

  if (!givenAuthUrl) {
    if (back.searchParams.get('state') !== state) fail('state was not returned unchanged');
    if (back.searchParams.get('iss') !== asUrl) fail(`iss ${back.searchParams.get('iss')} != ${asUrl}`);
    const cookies = await context.cookies();
    for (const c of cookies) {
      if (!c.name.startsWith('__Host-') || !c.secure || !c.httpOnly || c.sameSite !== 'Lax') {
        fail(`cookie ${c.name} lacks __Host-/Secure/HttpOnly/SameSite=Lax`);
      }
    }
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: clientId,
      code: back.searchParams.get('code'),
      redirect_uri: redirectUri,
      code_verifier: verifier,
      ...(resource ? { resource } : {}),
    });
    const tok = await fetch(`${asUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    const body = await tok.json();
    if (tok.status !== 200 || typeof body.access_token !== 'string') {
      fail(`token exchange failed: ${tok.status} ${JSON.stringify(body)}`);
    }
    console.log(`token exchange: ${tok.status}, token_type ${body.token_type}, expires_in ${body.expires_in}`);

    // The login page must refuse to render inside a frame (frame-ancestors 'none').
    const framer = await context.newPage();
    await framer.setContent(`<iframe id="f" src="${authUrl()}" width="600" height="400"></iframe>`);
    await framer.waitForTimeout(1500);
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    const framed = frame ? await frame.$('#username').catch(() => null) : null;
    await framer.screenshot({ path: join(artifacts, '4-framing-blocked.png') });
    if (framed) fail('login page rendered inside a frame');
    console.log('framing: blocked');
  }
  console.log('PASS: login → consent → redirect with code');
} finally {
  await browser.close();
  callbackServer?.close();
}
