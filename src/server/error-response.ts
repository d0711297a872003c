import { STATUS_CODES } from "node:http";
import { statusMessage } from "../errors/http-status.js";
import { errorBody } from "../errors/normalize.js";

/**
 * A whole HTTP/1.1 error response in the API's errors shape, for the places that answer below Node's
 * ServerResponse (parser errors, refused LIST requests, CONNECT). It always closes the connection: when the server
 * could not read a request, it cannot know where the next one starts.
 */
export function rawErrorResponse(
  status: number,
  message = statusMessage(status),
  headers: Readonly<Record<string, string>> = {},
): string {
  const body = errorBody([message]);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${extra.join("")}` +
    "content-type: application/json\r\ncache-control: no-store\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}
