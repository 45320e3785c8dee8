import { describe, expect, it } from 'vitest';
import { isUserAgentSummary, summariseUserAgent } from './user-agent-summary.ts';

describe('summariseUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Chrome on Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
      'Chrome on iPadOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
      'Samsung Internet on Android',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0',
      'Opera on Linux',
    ],
    [
      'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      'Chrome on ChromeOS',
    ],
    ['curl/8.8.0', 'curl'],
    ['Mozilla/5.0 (Windows NT 10.0) SomethingNew/1.0', 'Unknown browser on Windows'],
  ])('%s → %s', (header, summary) => {
    expect(summariseUserAgent(header)).toBe(summary);
    expect(isUserAgentSummary(summary)).toBe(true);
  });

  it('keeps nothing of a header it does not recognise, and copies no text from any', () => {
    expect(summariseUserAgent(undefined)).toBeUndefined();
    expect(summariseUserAgent('')).toBeUndefined();
    expect(summariseUserAgent('my-script/1.0 (contact: alice@example.com)')).toBeUndefined();
    // Injected text around a known token: the summary is still one of the fixed words.
    const hostile = 'Firefox/1.0 <script>alert(1)</script> on Linux\r\nX-Evil: 1';
    expect(summariseUserAgent(hostile)).toBe('Firefox on Linux');
    // A huge header is examined only at its start.
    expect(summariseUserAgent(`${'x'.repeat(5000)} Firefox/128.0`)).toBeUndefined();
  });

  it('accepts only its own summaries when reading a stored listing back', () => {
    expect(isUserAgentSummary('Firefox on Linux')).toBe(true);
    expect(isUserAgentSummary('curl')).toBe(true);
    expect(isUserAgentSummary('Linux')).toBe(false);
    expect(isUserAgentSummary('Firefox/128.0 on Linux')).toBe(false);
    expect(isUserAgentSummary('Firefox on Linux on Windows')).toBe(false);
    expect(isUserAgentSummary('<b>Firefox</b>')).toBe(false);
  });
});
