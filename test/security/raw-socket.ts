/**
 * Bytes on a socket, for the attacks no HTTP client agrees to send: request smuggling framing,
 * obsolete line folding, bare LF line endings, and clients that send their headers one byte at a
 * time. Writes exactly what it is given (no `Connection: close` added) and reports what came back
 * and when the server closed the connection.
 */
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything the server sent, latin1-decoded. */
  readonly received: string;
  /** Status codes of every response in `received`, in order (pipelined requests answer twice). */
  readonly statuses: readonly number[];
  /** Milliseconds from connecting until the server closed the socket (or `timeoutMs`). */
  readonly closedAfterMs: number;
  /** False when the server still held the socket open at `timeoutMs`. */
  readonly closedByServer: boolean;
}

export interface RawOptions {
  /** Sent piece by piece with `intervalMs` between pieces; a string is sent at once. */
  readonly chunks: string | readonly string[];
  readonly intervalMs?: number;
  /** Give up (and close from our side) after this long. Default 5 s. */
  readonly timeoutMs?: number;
}

export function rawExchange(baseUrl: string, options: RawOptions): Promise<RawExchange> {
  const base = new URL(baseUrl);
  const chunks = typeof options.chunks === 'string' ? [options.chunks] : options.chunks;
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const started = performance.now();
    let received = '';
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(Number(base.port), base.hostname);
    socket.setEncoding('latin1');
    const finish = (closedByServer: boolean): void => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      const statuses = [...received.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      resolve({
        received,
        statuses,
        closedAfterMs: performance.now() - started,
        closedByServer,
      });
    };
    const deadline = setTimeout(() => {
      finish(false);
    }, timeoutMs);
    const writeNext = (): void => {
      if (socket.destroyed || next >= chunks.length) return;
      socket.write(chunks[next++] ?? '', 'latin1');
      if (next < chunks.length) timer = setTimeout(writeNext, options.intervalMs ?? 0);
    };
    socket.on('connect', writeNext);
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined); // a reset is how some refusals end; `close` follows
    socket.on('close', () => {
      finish(true);
    });
  });
}
