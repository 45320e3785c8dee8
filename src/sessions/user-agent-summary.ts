/**
 * The device summary a session's listing keeps ("Firefox on Linux"), so the person and operators
 * can tell their sessions apart (issue #20) without the store keeping the `User-Agent` header.
 *
 * The summary is built only from the fixed words below, never from text copied out of the
 * header: whatever a client sends (versions, build ids, device models, injected text), what is
 * stored and shown is one of a closed set of short strings. The header is a hint the client
 * chooses (RFC 9110 §10.1.5), so the summary helps recognise a device, it proves nothing.
 */

/** Longest header examined: real ones stay under 512 bytes; longer ones are cut, not refused. */
const MAX_EXAMINED = 1024;

/**
 * Browser families, most specific first: Edge, Opera and Samsung Internet also say "Chrome", and
 * Chrome says "Safari" (every Chromium-based user agent carries both tokens).
 */
const browsers: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|Chromium|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^Wget\//, 'Wget'],
];

/** Operating systems, most specific first: Android says "Linux", iPadOS may say "Macintosh". */
const systems: readonly (readonly [RegExp, string])[] = [
  [/\bAndroid\b/, 'Android'],
  [/\biPad\b/, 'iPadOS'],
  [/\b(?:iPhone|iPod)\b/, 'iOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/**
 * "Firefox on Linux", "Safari on iOS", "Chrome", "Unknown device on Windows"; `undefined` when
 * the header is absent or names nothing recognisable (listed as unknown).
 */
export function summariseUserAgent(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = header.slice(0, MAX_EXAMINED);
  const browser = browsers.find(([pattern]) => pattern.test(text))?.[1];
  const system = systems.find(([pattern]) => pattern.test(text))?.[1];
  if (browser === undefined && system === undefined) return undefined;
  if (system === undefined) return browser;
  return `${browser ?? 'Unknown browser'} on ${system}`;
}

const browserNames: ReadonlySet<string> = new Set(browsers.map(([, name]) => name));
const systemNames: ReadonlySet<string> = new Set(systems.map(([, name]) => name));

/**
 * Whether `value` is one of the summaries `summariseUserAgent` returns. Listings read back from
 * the store go through it, so a value written by anything else is shown as unknown, not echoed.
 */
export function isUserAgentSummary(value: string): boolean {
  const [browser, system, ...rest] = value.split(' on ');
  if (rest.length > 0 || browser === undefined) return false;
  if (system === undefined) return browserNames.has(browser);
  return (browserNames.has(browser) || browser === 'Unknown browser') && systemNames.has(system);
}
