import type { DialectName } from '../authz/auth-request.ts';
import type { Dialect } from './dialect.ts';
import { extAuthzDialect } from './ext-authz.ts';
import { forwardAuthDialect } from './forward-auth.ts';
import { nginxDialect } from './nginx.ts';
import { oauth2ProxyDialect } from './oauth2-proxy.ts';

export type { CheckResponse, Dialect, IncomingCheck, RespondInputs } from './dialect.ts';
export { acceptsRedirect } from './browser.ts';
export { extAuthzDialect, extAuthzPrefix } from './ext-authz.ts';
export { forwardAuthDialect } from './forward-auth.ts';
export { createNginxDialect, nginxDialect } from './nginx.ts';
export { oauth2ProxyDialect } from './oauth2-proxy.ts';
export { ProxyTrust } from './proxy-trust.ts';

/** Every proxy dialect by name, for the routes in http/. */
export const dialects: Readonly<Record<DialectName, Dialect>> = {
  nginx: nginxDialect,
  'forward-auth': forwardAuthDialect,
  'ext-authz': extAuthzDialect,
  'oauth2-proxy': oauth2ProxyDialect,
};
