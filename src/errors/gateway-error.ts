/**
 * Every error the gateway answers with. Each class has a fixed HTTP status, a stable `PORTCULLIS_*` code and a
 * message that is safe to show a client; `cause` carries the details, for the log only.
 */
export interface GatewayErrorOptions extends ErrorOptions {
  headers?: Record<string, string>;
}

export class GatewayError extends Error {
  override name = "GatewayError";
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly publicMessage: string,
    options: GatewayErrorOptions = {},
  ) {
    super(publicMessage, options.cause === undefined ? {} : { cause: options.cause });
    this.headers = options.headers ?? {};
  }
}

export class BadRequestError extends GatewayError {
  override name = "BadRequestError";
  constructor(message = "invalid request", options?: GatewayErrorOptions) {
    super(400, "PORTCULLIS_BAD_REQUEST", message, options);
  }
}

export class UnauthorizedError extends GatewayError {
  override name = "UnauthorizedError";
  constructor(message = "missing or invalid token", options?: GatewayErrorOptions) {
    super(401, "PORTCULLIS_UNAUTHORIZED", message, options);
  }
}

export class ForbiddenError extends GatewayError {
  override name = "ForbiddenError";
  constructor(message = "permission denied", options?: GatewayErrorOptions) {
    super(403, "PORTCULLIS_FORBIDDEN", message, options);
  }
}

export class NotFoundError extends GatewayError {
  override name = "NotFoundError";
  constructor(message = "not found", options?: GatewayErrorOptions) {
    super(404, "PORTCULLIS_NOT_FOUND", message, options);
  }
}

export class PayloadTooLargeError extends GatewayError {
  override name = "PayloadTooLargeError";
  constructor(message = "request body too large", options?: GatewayErrorOptions) {
    super(413, "PORTCULLIS_PAYLOAD_TOO_LARGE", message, options);
  }
}

export class RateLimitedError extends GatewayError {
  override name = "RateLimitedError";
  constructor(retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(429, "PORTCULLIS_RATE_LIMITED", "rate limit exceeded, try again later", {
      headers: { ...headers, "retry-after": String(retryAfterSeconds) },
    });
  }
}

export class InternalError extends GatewayError {
  override name = "InternalError";
  constructor(options?: GatewayErrorOptions) {
    super(500, "PORTCULLIS_INTERNAL", "internal error", options);
  }
}

/** The backend answered with something that is not HTTP, or broke off its answer. */
export class BadGatewayError extends GatewayError {
  override name = "BadGatewayError";
  constructor(message = "the backend sent an invalid response", options?: GatewayErrorOptions) {
    super(502, "PORTCULLIS_BAD_GATEWAY", message, options);
  }
}

/** The backend could not be reached, refused, reset or did not answer in time: a retry may well succeed. */
export class BackendUnavailableError extends GatewayError {
  override name = "BackendUnavailableError";
  constructor(message = "the backend is unavailable, try again later", options?: GatewayErrorOptions) {
    super(503, "PORTCULLIS_BACKEND_UNAVAILABLE", message, {
      ...options,
      headers: { "retry-after": "1", ...options?.headers },
    });
  }
}

/** Configuration that cannot work: thrown at start or when a plugin is built, never per request. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "PORTCULLIS_CONFIG";
}
