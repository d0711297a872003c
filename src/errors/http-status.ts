import { STATUS_CODES } from "node:http";

/** "Not Found" -> "not found": the message used when nobody gave a better one. */
export function statusMessage(status: number): string {
  return (STATUS_CODES[status] ?? "error").toLowerCase();
}
