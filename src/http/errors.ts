/**
 * Typed HTTP errors, modelled on oidc-provider's: a stable `code`, the HTTP `status`, and
 * `expose` saying whether the message may be shown to the client. One Koa middleware turns
 * them into responses (http/error-handler.ts); anything else becomes an opaque 500 — never a 2xx.
 */
export class GatehouseError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;

  constructor(
    code: string,
    status: number,
    message: string,
    options?: { cause?: unknown; expose?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = options?.expose ?? status < 500;
  }
}

/** The proxy's request is malformed (missing or invalid original URL, oversized header...). */
export class BadRequestError extends GatehouseError {
  constructor(code: string, message: string) {
    super(code, 400, message);
  }
}

/** A dependency (Redis, JWKS, identity provider) failed; the request is refused, never allowed. */
export class DependencyError extends GatehouseError {
  readonly dependency: string;
  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super('dependency_unavailable', 503, message, { ...options, expose: false });
    this.dependency = dependency;
  }
}
