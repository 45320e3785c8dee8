/**
 * rawExchange() moved into the tests' one HTTP client, test/fixtures/gatehouse/http-client.ts;
 * this re-export keeps test/differential/proxy-boundary.test.ts working until it imports it
 * from there.
 */
export { rawExchange } from '../fixtures/gatehouse/http-client.ts';
export type { RawExchange, RawOptions } from '../fixtures/gatehouse/http-client.ts';
