/**
 * The chart's alerts (templates/prometheusrule.yaml) and Grafana dashboard (dashboards/
 * gatehouse.json) query only what gatehouse exports: every metric name is one of
 * src/metrics/metrics.ts (prom-client's default metrics included, with their `gatehouse_`
 * prefix) or Prometheus' own `up`, every label a matcher or an aggregation names is one those
 * metrics carry (or a target label the scrape adds), and every label value an alert compares
 * with is one the code writes. A renamed metric or label would otherwise leave an alert that can
 * never fire. The alerts select series through metrics.prometheusRule.selector, never a fixed job.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Histogram } from 'prom-client';
import { parse } from 'yaml';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { chartDir, ensureHelm, find, render, repoRoot, scenarioFile } from './helm.ts';
import type { KubeObject } from './helm.ts';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Labels Prometheus adds to every scraped series (target labels) and histogram buckets. */
const targetLabels = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'endpoint']);

/** name → label names, of every metric gatehouse exports. */
function exportedMetrics(): Map<string, readonly string[]> {
  const metrics = new Map<string, readonly string[]>();
  for (const metric of new Metrics().registry.getMetricsAsArray()) {
    const labels = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    metrics.set(metric.name, labels);
    // instanceof, not the constructor's name: the decision histogram is a TalliedHistogram.
    if (metric instanceof Histogram) {
      metrics.set(`${metric.name}_bucket`, [...labels, 'le']);
      metrics.set(`${metric.name}_sum`, labels);
      metrics.set(`${metric.name}_count`, labels);
    }
  }
  // Prometheus' own per-target series.
  metrics.set('up', []);
  return metrics;
}

interface Selector {
  readonly metric: string;
  readonly matchers: readonly { label: string; op: string; value: string }[];
  readonly text: string;
}

const selectorPattern = /([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g;
const matcherPattern = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
const groupingPattern = /\b(?:by|without)\s*\(([^)]*)\)/g;

function selectors(expr: string): Selector[] {
  return [...expr.matchAll(selectorPattern)].map(([text, metric = '', body = '']) => ({
    metric,
    text,
    matchers: [...body.matchAll(matcherPattern)].map(([, label = '', op = '', value = '']) => ({
      label,
      op,
      value,
    })),
  }));
}

/** What is wrong with one expression: unknown metrics and labels. */
function problems(expr: string, exported: Map<string, readonly string[]>): string[] {
  const found: string[] = [];
  const used = selectors(expr);
  const labels = new Set(targetLabels);
  for (const { metric } of used) {
    const known = exported.get(metric);
    if (known === undefined) found.push(`unknown metric ${metric}`);
    for (const label of known ?? []) labels.add(label);
  }
  for (const { metric, matchers } of used) {
    const known = new Set([...(exported.get(metric) ?? []), ...targetLabels]);
    for (const { label } of matchers) {
      if (!known.has(label)) found.push(`${metric} has no label ${label}`);
    }
  }
  for (const [, list = ''] of expr.matchAll(groupingPattern)) {
    for (const label of list.split(',').map((name) => name.trim())) {
      if (label !== '' && !labels.has(label))
        found.push(`no metric of the expression has ${label}`);
    }
  }
  // A gatehouse_ name outside a selector (e.g. in a function argument) must exist as well.
  for (const name of expr.match(/\bgatehouse_[a-z0-9_]+/g) ?? []) {
    if (!exported.has(name)) found.push(`unknown metric ${name}`);
  }
  return found;
}

async function sourceText(): Promise<string> {
  const dir = resolve(repoRoot, 'src');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter(
    (entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'),
  );
  const texts = await Promise.all(
    files.map((entry) => readFile(join(entry.parentPath, entry.name), 'utf8')),
  );
  return texts.join('\n');
}

function rules(objects: readonly KubeObject[]): Rule[] {
  const rule = find(objects, 'PrometheusRule') as unknown as {
    spec: { groups: { rules: Rule[] }[] };
  };
  return rule.spec.groups.flatMap((group) => group.rules);
}

const exported = exportedMetrics();

beforeAll(async () => {
  await ensureHelm();
}, 30 * 60_000);

describe('PrometheusRule', () => {
  let all: Rule[];

  beforeAll(async () => {
    all = rules(await render({ valuesFiles: [scenarioFile('monitoring')] }));
  }, 120_000);

  it('has one alert per metrics.prometheusRule.alerts entry, gatehouse down among them', async () => {
    const values = parse(await readFile(resolve(chartDir, 'values.yaml'), 'utf8')) as {
      metrics: { prometheusRule: { alerts: Record<string, unknown> } };
    };
    expect(all.map((rule) => rule.alert).sort()).toEqual(
      Object.keys(values.metrics.prometheusRule.alerts).sort(),
    );
    for (const alert of [
      'GatehouseDown',
      'GatehouseSignInFailures',
      'GatehouseTokenRefreshFailures',
      'GatehouseProviderDiscoveryFailures',
    ]) {
      expect(all.map((rule) => rule.alert)).toContain(alert);
    }
  });

  it('queries only metrics and labels gatehouse exports', () => {
    expect(exported.size).toBeGreaterThan(40);
    for (const rule of all) expect(problems(rule.expr, exported), rule.alert).toEqual([]);
  });

  it('compares labels only with values the code writes', async () => {
    const source = await sourceText();
    const compared = all.flatMap((rule) =>
      selectors(rule.expr).flatMap(({ matchers }) =>
        matchers
          .filter(({ label }) => !targetLabels.has(label))
          .flatMap(({ value, op }) => (op.endsWith('~') ? value.split('|') : [value])),
      ),
    );
    expect(compared).toEqual(expect.arrayContaining(['error', 'failed', 'started', 'failure']));
    const unknown = [...new Set(compared)].filter((value) => !source.includes(`'${value}'`));
    expect(unknown).toEqual([]);
  });

  it('selects every series by the Service the ServiceMonitor scrapes, not a fixed job', () => {
    for (const rule of all) {
      const used = selectors(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const selector of used) {
        expect(selector.text, rule.alert).toContain('job="gatehouse",namespace="gatehouse"');
      }
    }
    const down = all.find((rule) => rule.alert === 'GatehouseDown');
    // Fires when no target is up, and when there is no target at all.
    expect(down?.expr.trim()).toBe('absent(up{job="gatehouse",namespace="gatehouse"} == 1)');
  });

  it('follows the release: another name and namespace, or metrics.prometheusRule.selector', async () => {
    const renamed = rules(
      await render({
        release: 'auth',
        namespace: 'identity',
        set: ['metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true'],
      }),
    );
    const monitor = find(
      await render({
        release: 'auth',
        namespace: 'identity',
        set: ['metrics.serviceMonitor.enabled=true'],
      }),
      'Service',
    );
    // The Prometheus Operator names the job after the Service the ServiceMonitor selects.
    expect(monitor.metadata.name).toBe('auth-gatehouse');
    for (const rule of renamed) {
      for (const selector of selectors(rule.expr)) {
        expect(selector.text).toContain('job="auth-gatehouse",namespace="identity"');
      }
    }
    const custom = rules(
      await render({
        set: [
          'metrics.prometheusRule.enabled=true',
          'metrics.prometheusRule.selector=service="gatehouse"\\,cluster="eu-1"',
        ],
      }),
    );
    for (const rule of custom) {
      expect(rule.expr).not.toContain('job=');
      for (const selector of selectors(rule.expr)) {
        expect(selector.text).toContain('service="gatehouse",cluster="eu-1"');
      }
    }
  });

  it('takes for, severity and extra labels per alert, and leaves disabled alerts out', async () => {
    const configured = rules(await render({ valuesFiles: [scenarioFile('extensions')] }));
    const byName = new Map(configured.map((rule) => [rule.alert, rule]));
    expect(byName.has('GatehouseForbiddenSpike')).toBe(false);
    expect(byName.get('GatehouseSlowChecks')).toMatchObject({
      for: '30m',
      labels: { severity: 'info', team: 'platform' },
    });
    expect(byName.get('GatehouseDown')).toMatchObject({
      for: '5m',
      labels: { severity: 'critical', team: 'platform' },
    });
    // An alertLabels severity does not override the alert's own.
    const overridden = rules(
      await render({
        set: [
          'metrics.prometheusRule.enabled=true',
          'metrics.prometheusRule.alertLabels.severity=page',
        ],
      }),
    );
    expect(overridden.find((rule) => rule.alert === 'GatehouseDown')?.labels).toEqual({
      severity: 'critical',
    });
  });
});

describe('Grafana dashboard', () => {
  it('charts only metrics and labels gatehouse exports, process metrics under their prefixed prom-client names', async () => {
    const dashboard = JSON.parse(
      await readFile(resolve(chartDir, 'dashboards/gatehouse.json'), 'utf8'),
    ) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
    );
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) expect(problems(expr, exported), panel).toEqual([]);
    const text = exprs.map(({ expr }) => expr).join('\n');
    // collectDefaultMetrics({ prefix: 'gatehouse_' }): never the unprefixed process_* names.
    expect(text).not.toMatch(/\b(process|nodejs)_[a-z_]+\{/);
    expect(text).toContain('gatehouse_process_resident_memory_bytes');
  });
});
