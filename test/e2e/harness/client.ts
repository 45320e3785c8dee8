/**
 * A client request to a proxy under test, naming the virtual host in `Host` (no DNS needed):
 * `Host: app.test:<port>`, the way a browser addresses an app on a non-default port.
 */
import { request } from 'node:http';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';

export type HeaderList = readonly (readonly [string, string])[];

export interface ClientRequest {
  readonly method?: string;
  readonly headers?: HeaderList;
  /** Request body; its length is sent as `Content-Length`. */
  readonly body?: string;
}

/** Sends one request to `proxyUrl` for `host` and reads the whole answer. */
export function sendThrough(
  proxyUrl: string,
  host: string,
  path: string,
  options: ClientRequest = {},
): Promise<RawResponse> {
  const base = new URL(proxyUrl);
  const headers: string[] = ['Host', `${host}:${base.port}`];
  for (const [name, value] of options.headers ?? []) headers.push(name, value);
  if (options.body !== undefined) {
    headers.push('Content-Length', String(Buffer.byteLength(options.body)));
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: base.hostname,
        port: base.port,
        method: options.method ?? 'GET',
        path,
        headers,
        setHost: false,
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
