import { describe, expect, it } from 'vitest';
import { benchNginxConfig, cpuMask, noAuthPrefix } from './nginx-front.ts';

describe('benchNginxConfig', () => {
  const config = benchNginxConfig(
    {
      gatehouseUrl: 'http://127.0.0.1:4001',
      upstreamUrl: 'http://127.0.0.1:4002',
      serverName: 'bench.test',
      cpu: '0',
    },
    '/tmp/x',
    4000,
  );
  it('keeps the ingress-nginx auth subrequest and adds an auth-free location to the same upstream', () => {
    expect(config).toContain('auth_request /_external-auth-');
    expect(config).toContain(`location ${noAuthPrefix} {`);
    expect(config.match(/proxy_pass http:\/\/127\.0\.0\.1:4002;/g)).toHaveLength(2);
  });
  it('pins the one worker and logs no access lines', () => {
    expect(config).toContain('worker_processes 1;\nworker_cpu_affinity 1;');
    expect(config).not.toMatch(/access_log \/tmp/);
  });
});

describe('cpuMask', () => {
  it('sets the bit of the CPU, counted from the right', () => {
    expect(cpuMask('0')).toBe('1');
    expect(cpuMask('3')).toBe('1000');
  });
});
