import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AuditLog, auditLoggerName } from './audit-log.ts';

function capture(): { audit: AuditLog; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const audit = new AuditLog(pino({ level: 'info' }, stream));
  return {
    audit,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('audit log', () => {
  it('writes each event as one line under its own logger name, at info', () => {
    const { audit, lines } = capture();
    audit.record({
      event: 'login',
      requestId: 'r-1',
      result: 'success',
      provider: 'dev',
      user: 'alice',
      sessionId: 'k',
    });
    audit.record({
      event: 'policy-change',
      source: 'files',
      version: 'v2',
      previousVersion: 'v1',
      objects: { AccessPolicy: 3 },
    });
    const [login, change, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(login).toMatchObject({
      logger: auditLoggerName,
      level: 30,
      event: 'login',
      user: 'alice',
      msg: 'audit: login',
    });
    expect(change).toMatchObject({
      logger: auditLoggerName,
      event: 'policy-change',
      version: 'v2',
    });
  });
});
