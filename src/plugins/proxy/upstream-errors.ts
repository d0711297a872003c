import { BackendUnavailableError, BadGatewayError, GatewayError } from "../../errors/gateway-error.js";

const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|ERR_PORTCULLIS_PIN)/;

// undici names its own timeouts; http-proxy only reports a socket timeout, so its engine passes `timedOut`
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

// the backend spoke, but not acceptable HTTP: retrying will not help, so 502 rather than 503
const INVALID_RESPONSE_CODES = new Set(["UND_ERR_INFO", "UND_ERR_RES_CONTENT_LENGTH_MISMATCH"]);

/** Thrown into a forward whose client went away: there is nobody left to answer. */
export class ClientGoneError extends GatewayError {
  override name = "ClientGoneError";
  constructor() {
    super(499, "PORTCULLIS_CLIENT_GONE", "client closed the request");
  }
}

/**
 * The one boundary where transport failures towards the backend become the API's errors: timeouts, refusals and
 * resets are 503 (a retry may work), answers that are not HTTP and failed TLS verification are 502.
 */
export function upstreamError(error: unknown, timedOut = false): GatewayError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (timedOut || TIMEOUT_CODES.has(code)) {
    return new BackendUnavailableError("the backend did not answer in time", { cause: error });
  }
  // HPE_*: the backend sent something that is not HTTP, or framed it wrongly. undici 7 leaves the code of its
  // HTTPParserError unset (it looks the llhttp error number up in a name -> number table), so its name counts too
  if (code.startsWith("HPE_") || INVALID_RESPONSE_CODES.has(code) || (error as Error)?.name === "HTTPParserError") {
    return new BadGatewayError(undefined, { cause: error });
  }
  if (TLS_CODES.test(code)) {
    return new BadGatewayError("the backend's TLS certificate could not be verified", { cause: error });
  }
  return new BackendUnavailableError(undefined, { cause: error });
}
