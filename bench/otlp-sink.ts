/**
 * The collector of the tracing scenario: accepts OTLP/HTTP exports (`POST /v1/traces`) and
 * throws them away, counting requests and bytes so the run can show spans really left
 * gatehouse. It runs in the runner's process, off the server core: what is measured is
 * gatehouse's cost of recording and exporting, not a collector's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** `http://127.0.0.1:<port>/v1/traces`. */
  readonly url: string;
  readonly exports: () => { readonly requests: number; readonly bytes: number };
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') requests += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/v1/traces`,
    exports: () => ({ requests, bytes }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
