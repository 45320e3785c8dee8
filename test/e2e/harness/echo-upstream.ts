/**
 * The application behind the proxy: answers every request with what reached it, so a test sees
 * exactly which headers (identity headers, forged copies) the proxy let through.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { closeServer, listenOnLoopback } from '../../fixtures/gatehouse/token-issuer.ts';

/** The JSON body of every echo answer. */
export interface EchoedRequest {
  readonly method: string;
  readonly url: string;
  /** Lower-case names, as node:http parses them. */
  readonly headers: IncomingHttpHeaders;
  /** Length in bytes of the request body that reached the upstream. */
  readonly bodyLength: number;
}

export interface EchoUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request received so far, oldest first. */
  readonly received: readonly EchoedRequest[];
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: EchoedRequest[] = [];
  const server = createServer((request, response) => {
    let bodyLength = 0;
    request.on('data', (chunk: Buffer) => (bodyLength += chunk.length));
    request.on('end', () => {
      const echoed: EchoedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        bodyLength,
      };
      received.push(echoed);
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify(echoed));
    });
  });
  const url = await listenOnLoopback(server);
  return { url, received, close: () => closeServer(server) };
}

/** Parses an echo answer that came back through the proxy. */
export function parseEcho(body: string): EchoedRequest {
  return JSON.parse(body) as EchoedRequest;
}
