import { randomUUID } from 'node:crypto';

/**
 * A request id accepted from a proxy must be safe to log and to echo: ingress-nginx sends a
 * 32-hex `$req_id`, Envoy a UUID. Anything longer or with other characters is replaced, so a
 * client cannot inject log lines or oversized values through `X-Request-ID`.
 */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(
  header: string | undefined,
  generate: () => string = randomUUID,
): string {
  return header !== undefined && acceptableRequestId.test(header) ? header : generate();
}
