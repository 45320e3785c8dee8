/**
 * One request with a scenario's headers before any load: a server answering the wrong status
 * (a 401 where a session should pass) fails the scenario at once, with the answer's body in the
 * message, instead of being measured.
 */
import { request as httpRequest } from 'node:http';
import type { WrkRequest } from './wrk.ts';

/** One request with the scenario's headers, to fail fast (and say why) on a wrong answer. */
export function probe(request: WrkRequest): Promise<{ status: number; body: string }> {
  const url = new URL(request.url);
  const headers = { ...request.headers };
  if (request.rotate !== undefined) headers[request.rotate.header] = request.rotate.values[0] ?? '';
  const rotatedPath = request.rotate?.paths?.[0];
  if (rotatedPath !== undefined) {
    const rotated = new URL(rotatedPath, url);
    url.pathname = rotated.pathname;
    url.search = rotated.search;
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.once('error', reject);
    req.end();
  });
}
