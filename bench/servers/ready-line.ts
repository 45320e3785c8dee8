/**
 * How a benchmark server tells bench/server-process.ts it is listening: one line on standard
 * output, `BENCH_READY <url>`. The URL is the bound one, so servers may listen on port 0.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const readyMarker = 'BENCH_READY ';

export function announceReady(url: string): void {
  process.stdout.write(`${readyMarker}${url}\n`);
}

/** Listens on 127.0.0.1:`BENCH_PORT` (default 0) and announces the bound URL. */
export async function listenAndAnnounce(server: Server): Promise<void> {
  const port = Number(process.env['BENCH_PORT'] ?? '0');
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  announceReady(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}`);
}

/** Exits on SIGTERM/SIGINT after closing `server`: the runner stops servers between scenarios. */
export function closeOnSignal(server: Server): void {
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
