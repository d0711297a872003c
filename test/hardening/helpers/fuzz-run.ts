import { ErrorShapeTally } from "./error-shape.js";
import { rawExchange } from "./raw-tls.js";
import { parseMessages } from "./wire.js";

export interface FuzzReport {
  sent: number;
  responses: number;
  /** Response streams the strict reader could not split into responses. */
  unreadable: string[];
  readonly errorShape: ErrorShapeTally;
  probes: number;
  failedProbes: number;
}

export interface FuzzOptions {
  concurrency?: number;
  /** A normal request the gateway must keep answering; called every `probeEvery` mutations. */
  probe: () => Promise<boolean>;
  probeEvery?: number;
  /** Called after each batch (e.g. to sample memory). */
  onProgress?: (done: number) => void;
}

/** Sends each mutated request on its own TLS connection and reads whatever comes back. */
export async function runFuzz(port: number, requests: readonly Buffer[], options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    sent: 0,
    responses: 0,
    unreadable: [],
    errorShape: new ErrorShapeTally(),
    probes: 0,
    failedProbes: 0,
  };
  const probeEvery = options.probeEvery ?? 50;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < requests.length; i = next++) {
      const bytes = requests[i] ?? Buffer.alloc(0);
      const exchange = await rawExchange(port, bytes, { idleMs: 150, maxMs: 5_000 }).catch(() => undefined);
      report.sent++;
      if (exchange !== undefined) {
        const parsed = parseMessages(exchange.bytes, "response", exchange.closedByServer);
        if (parsed.error !== undefined) report.unreadable.push(`#${i}: ${parsed.error}`);
        report.responses += parsed.messages.length;
        for (const message of parsed.messages) report.errorShape.add(message);
      }
      if (i % probeEvery === 0) {
        report.probes++;
        if (!(await options.probe().catch(() => false))) report.failedProbes++;
        options.onProgress?.(i);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  return report;
}
