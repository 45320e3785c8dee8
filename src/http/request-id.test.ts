import { describe, expect, it } from 'vitest';
import { ProxyTrust } from '../dialects/proxy-trust.ts';
import { requestIdsFrom } from './request-id.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);
const generate = () => 'own-id';

describe('requestIdsFrom', () => {
  it("always generates gatehouse's own id", () => {
    expect(requestIdsFrom(undefined, '10.0.0.1', trust, generate)).toEqual({ requestId: 'own-id' });
  });

  it("keeps a trusted proxy's well-formed id beside it", () => {
    expect(requestIdsFrom('abc-123', '::ffff:10.0.0.1', trust, generate)).toEqual({
      requestId: 'own-id',
      proxyRequestId: 'abc-123',
    });
  });

  it.each([
    ['from an untrusted peer', 'abc-123', '192.0.2.1'],
    ['too long', 'a'.repeat(129), '10.0.0.1'],
    ['with other characters', 'a b', '10.0.0.1'],
    ['repeated', ['a', 'b'], '10.0.0.1'],
    ['without a peer', 'abc', undefined],
  ] as const)('drops an id %s', (_case, header, peer) => {
    expect(requestIdsFrom(header as string | string[], peer, trust, generate)).toEqual({
      requestId: 'own-id',
    });
  });
});
