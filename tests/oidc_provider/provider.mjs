// Tests only: a real OpenID provider (node-oidc-provider, OpenID-certified) playing Microsoft
// Entra ID on 127.0.0.1 over TLS, for the "Sign in with Microsoft" tests.
//
//   node provider.mjs CONFIG.json
//
// CONFIG names the TLS certificate and key (made by the test's own CA), the tenant (the issuer is
// https://127.0.0.1:PORT/<tenant>/v2.0, as Microsoft's), the registered client and a state file
// that the provider reads at every sign-in, so a test can change it between sign-ins:
//   {"accounts": {"<login>": {"tid", "oid", "name", "preferred_username", "email", "roles"}},
//    "id_token": "valid" | "expired" | "tampered", "access_token_ttl": seconds}
// It also plays Entra ID for daemons: CONFIG's "daemon" client (secret in the POST body, as MSAL
// sends it) gets client-credentials access tokens for "<resource>/.default", as signed JWTs whose
// audience is the resource, living access_token_ttl seconds (short, so tests see them expire);
// CONFIG's "daemon_certificate" client authenticates with a signed assertion instead (private_key_jwt).
// Once listening it prints one JSON line, {"issuer": ...}, and serves until killed.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const readState = () => JSON.parse(readFileSync(config.state_file, 'utf8'));
const now = () => Math.floor(Date.now() / 1000);

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'p2c-test-key', use: 'sig', alg: 'RS256' };
}

// An account as Entra ID describes it: tenant and object id, display and sign-in name, app roles.
async function findAccount(ctx, accountId) {
  const account = readState().accounts[accountId];
  if (!account) return undefined;
  return { accountId, claims: async () => ({ sub: accountId, ...account }) };
}

// Consent is the administrator's in Entra ID: none asked of the user.
async function loadExistingGrant(ctx) {
  const grantId = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (grantId) return ctx.oidc.provider.Grant.find(grantId);
  const grant = new ctx.oidc.provider.Grant({
    clientId: ctx.oidc.client.clientId,
    accountId: ctx.oidc.session.accountId,
  });
  grant.addOIDCScope('openid profile email');
  await grant.save();
  return grant;
}

function providerFor(issuer) {
  const provider = new Provider(issuer, {
    clients: [
      { ...config.client, grant_types: ['authorization_code'], response_types: ['code'] },
      ...(config.daemon ? [daemonClient(config.daemon)] : []),
      ...(config.daemon_certificate ? [certificateClient(config.daemon_certificate)] : []),
    ],
    jwks: { keys: [signingKey()] },
    cookies: { keys: ['p2c-test-provider-cookie-key'] },
    findAccount,
    loadExistingGrant,
    pkce: { required: () => true }, // a client that does not send PKCE is refused
    // Entra's ID token carries these claims whatever else is issued beside it.
    claims: {
      openid: ['sub', 'tid', 'oid', 'roles'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: resourceFromDefaultScope(),
    },
    ttl: { IdToken: 3600 },
  });
  misbehaveWithIdTokens(provider);
  return provider;
}

// An app registration calling APIs as itself (MSAL's ConfidentialClientApplication).
function daemonClient(daemon) {
  return {
    ...daemon,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  };
}

// An app registration with a certificate instead of a secret: MSAL signs a client assertion
// (private_key_jwt, RFC 7523) with the certificate's private key; the provider verifies it with the
// public key the test registered (CONFIG's "daemon_certificate": {"client_id", "jwks"}), as Entra
// ID does with the certificate uploaded to the app registration.
function certificateClient(daemon) {
  return {
    client_id: daemon.client_id,
    jwks: daemon.jwks,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
  };
}

// Entra ID names the API by a scope, "https://contoso.crm.dynamics.com/.default", not by RFC
// 8707's resource parameter: the resource is the scope without "/.default", and the token is a
// JWT for that audience.
function resourceFromDefaultScope() {
  const defaultScope = (ctx) => String(ctx.oidc.params.scope || '').split(' ').find((s) => s.endsWith('/.default'));
  return {
    enabled: true,
    defaultResource: (ctx) => {
      const scope = defaultScope(ctx);
      return scope ? scope.slice(0, -'/.default'.length) : undefined;
    },
    useGrantedResource: () => true,
    getResourceServerInfo: (ctx, resource) => ({
      scope: `${resource}/.default`,
      audience: resource,
      accessTokenFormat: 'jwt',
      accessTokenTTL: readState().access_token_ttl || 3600,
      jwt: { sign: { alg: 'RS256' } },
    }),
  };
}

// What the tests need refused: an ID token that expired an hour ago (issued through the
// provider's own expiresAt), or one whose claims were changed after it was signed.
function misbehaveWithIdTokens(provider) {
  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issueAs(options = {}) {
    const mode = options.use === 'idtoken' ? readState().id_token : 'valid';
    if (mode === 'expired') return issue.call(this, { ...options, expiresAt: now() - 3600 });
    const token = await issue.call(this, options);
    return mode === 'tampered' ? withClaimsChanged(token) : token;
  };
}

function withClaimsChanged(token) {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  claims.roles = ['P2C.ProjectManager'];
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

// The provider lives under /<tenant>/v2.0, as Microsoft's does: the prefix is taken off before
// the provider sees a request, and originalUrl tells it where it is mounted.
const prefix = `/${config.tenant}/v2.0`;
let handle;
const server = https.createServer(
  { cert: readFileSync(config.cert), key: readFileSync(config.key) },
  (req, res) => {
    if (!req.url.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    handle(req, res);
  },
);
server.listen(0, '127.0.0.1', () => {
  const issuer = `https://127.0.0.1:${server.address().port}${prefix}`;
  const provider = providerFor(issuer);
  provider.proxy = false;
  handle = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
