import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino removes from every log line. Cookies, tokens and credentials never reach a log
 * (docs/architecture.md security invariant 6); request logs carry header names we chose, not raw headers,
 * but the redaction list is the safety net for a log call that forgets.
 */
export const redactedPaths: readonly string[] = [
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  'headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  '*.cookie',
  '*.authorization',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.ticket',
  '*.clientSecret',
  '*.password',
  'accessToken',
  'refreshToken',
  'idToken',
  'ticket',
  'clientSecret',
  'password',
];

export function createLogger(options: {
  level: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level,
    base: { service: 'gatehouse' },
    redact: { paths: [...redactedPaths], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination === undefined
    ? pino(pinoOptions)
    : pino(pinoOptions, options.destination as pino.DestinationStream);
}
