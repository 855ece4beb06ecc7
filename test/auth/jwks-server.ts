import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';

export const JWT_ISSUER = 'https://idp.test';
export const JWT_AUDIENCE = 'learning-hub';

/** One RS256 signing key of a test identity provider. */
export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

export const newSigningKey = async (kid: string): Promise<SigningKey> => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicKey };
};

/** A stand-in identity provider: serves the public half of its keys at /jwks.json. */
export interface JwksServer {
  jwksUrl: string;
  /** How many times the JWKS was fetched. */
  fetches: () => number;
  close: () => Promise<void>;
}

export const startJwksServer = async (keys: readonly SigningKey[]): Promise<JwksServer> => {
  const jwks = {
    keys: await Promise.all(
      keys.map(async (key) => ({
        ...(await exportJWK(key.publicKey)),
        kid: key.kid,
        alg: 'RS256',
        use: 'sig',
      })),
    ),
  };
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/jwks.json') {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(jwks));
      return;
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
};

/** Signs an identity-provider token; by default valid for five minutes, for this hub. */
export const signJwt = (
  key: SigningKey,
  claims: JWTPayload,
  options: {
    issuer?: string;
    audience?: string;
    /** Seconds since the epoch; defaults to now. */
    issuedAt?: number;
    /** Seconds since the epoch; defaults to five minutes after issuedAt. */
    expiresAt?: number;
  } = {},
): Promise<string> => {
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? JWT_ISSUER)
    .setAudience(options.audience ?? JWT_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(options.expiresAt ?? issuedAt + 300)
    .sign(key.privateKey);
};
