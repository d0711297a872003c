import type { Socket } from "node:net";
import { statusMessage } from "../errors/http-status.js";
import { errorBody } from "../errors/normalize.js";

/** Node's parser errors and what HTTP says they are. */
function statusFor(code: string | undefined): number {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    case "HPE_INVALID_METHOD":
      return 501; // (a later stage may accept LIST; until then Node refuses it here)
    default:
      return 400;
  }
}

/**
 * Node answers requests its parser refuses with an empty body of its own: answer in the API's error shape instead,
 * then close, since the bytes after a bad request cannot be trusted to start a new one.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const status = statusFor(error.code);
  const body = errorBody([statusMessage(status)]);
  socket.end(
    `HTTP/1.1 ${status} ${statusMessage(status)}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
