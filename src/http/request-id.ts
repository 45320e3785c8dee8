import { randomUUID } from 'node:crypto';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';

/**
 * A request id accepted from a proxy must be safe to log and to echo: ingress-nginx sends a
 * 32-hex `$req_id`, Envoy a UUID. Anything longer or with other characters is dropped, so a
 * client cannot inject log lines or oversized values through `X-Request-ID`.
 */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestIds {
  /** gatehouse's own id: generated for every request, so no client can choose or collide it. */
  readonly requestId: string;
  /**
   * The ingress's `X-Request-ID`, kept beside gatehouse's id to join the two logs: only from a
   * trusted proxy (docs/architecture.md security invariant 3; any client can send the header, and with it
   * make its denials look like another request's on the audit trail) and only when well-formed.
   */
  readonly proxyRequestId?: string;
}

/**
 * The ids of one request. Cheap on the hot path: one UUID (Node serves them from a pre-filled
 * entropy cache) and, only when the header is present, a trust lookup and a bounded regex test.
 * @param header the request's `X-Request-ID` (Node joins repeated ones; those are refused)
 * @param peer the socket peer address (the proxy, not the forwarded client)
 */
export function requestIdsFrom(
  header: string | string[] | undefined,
  peer: string | undefined,
  trust: ProxyTrust,
  generate: () => string = randomUUID,
): RequestIds {
  const requestId = generate();
  if (
    typeof header !== 'string' ||
    peer === undefined ||
    !acceptableRequestId.test(header) ||
    !trust.isTrusted(peer)
  ) {
    return { requestId };
  }
  return { requestId, proxyRequestId: header };
}
