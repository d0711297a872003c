import { BackendUnavailableError, BadGatewayError, type GatewayError } from "../../errors/gateway-error.js";

const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|ERR_PORTCULLIS_PIN)/;

/** The one boundary where transport failures towards the backend become the API's errors. */
export function upstreamError(error: unknown, timedOut: boolean): GatewayError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (timedOut) return new BackendUnavailableError("the backend did not answer in time", { cause: error });
  // HPE_*: the backend sent something that is not HTTP, or framed it wrongly
  if (code.startsWith("HPE_")) return new BadGatewayError(undefined, { cause: error });
  if (TLS_CODES.test(code)) {
    return new BadGatewayError("the backend's TLS certificate could not be verified", { cause: error });
  }
  return new BackendUnavailableError(undefined, { cause: error });
}
