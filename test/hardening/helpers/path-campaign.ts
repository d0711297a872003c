import { TEST_TOKEN, type TestBackend } from "../../helpers/backend.js";
import { ErrorShapeTally } from "./error-shape.js";
import { classify, forwarded } from "./path-model.js";
import { RawHttpClient } from "./raw-client.js";

export interface PathCampaign {
  readonly sent: number;
  readonly accepted: number;
  /** The backend received something other than the classified path, or something for a refused target. */
  readonly forwardMismatches: string[];
  /** The client's status differs from the classifier's verdict (200 for accepted, else its status). */
  readonly statusMismatches: string[];
  readonly errorShape: ErrorShapeTally;
  /**
   * Requests sent again after a 503: the gateway could not reach the backend (a keep-alive connection the backend
   * closed as the gateway reused it), which says nothing about classification.
   */
  readonly retriedAfter503: number;
}

/**
 * Sends every target as `GET <target> HTTP/1.1` over raw TLS (so nothing is normalized on the way) and compares
 * what the backend received with what the route stage says: the canonical path for accepted targets, nothing for
 * refused ones. Each request carries its index in X-Case, so the backend's records map back to targets.
 */
export async function runPathCampaign(
  port: number,
  backend: TestBackend,
  targets: readonly string[],
  concurrency = 8,
): Promise<PathCampaign> {
  const first = backend.requests.length;
  const statuses: number[] = [];
  const errorShape = new ErrorShapeTally();
  let next = 0;
  let retriedAfter503 = 0;
  const worker = async () => {
    const client = new RawHttpClient(port);
    try {
      for (let i = next++; i < targets.length; i = next++) {
        const request = `GET ${targets[i]} HTTP/1.1\r\nHost: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\nX-Case: ${i}\r\n\r\n`;
        let response = await client.request(request);
        if (response !== "closed" && response.startLine[1] === "503") {
          retriedAfter503++;
          response = await client.request(request);
        }
        statuses[i] = response === "closed" ? 0 : Number(response.startLine[1]);
        if (response !== "closed") errorShape.add(response);
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  const received = new Map<number, string[]>();
  for (const request of backend.requests.slice(first)) {
    const index = Number(request.headers["x-case"]);
    received.set(index, [...(received.get(index) ?? []), request.url]);
  }
  const forwardMismatches: string[] = [];
  const statusMismatches: string[] = [];
  let accepted = 0;
  targets.forEach((target, i) => {
    const verdict = classify(target);
    const seen = received.get(i) ?? [];
    const expected = "accepted" in verdict ? [forwarded(verdict.accepted)] : [];
    if ("accepted" in verdict) accepted++;
    if (JSON.stringify(seen) !== JSON.stringify(expected)) {
      forwardMismatches.push(
        `${JSON.stringify(target)}: expected ${JSON.stringify(expected)}, backend got ${JSON.stringify(seen)}`,
      );
    }
    const status = "accepted" in verdict ? 200 : verdict.refused;
    if (statuses[i] !== status)
      statusMismatches.push(`${JSON.stringify(target)}: expected ${status}, got ${statuses[i]}`);
  });
  return { sent: targets.length, accepted, forwardMismatches, statusMismatches, errorShape, retriedAfter503 };
}
