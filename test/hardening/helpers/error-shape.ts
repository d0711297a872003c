import { header, type WireMessage } from "./wire.js";

/** Whether a response is in the API's one error shape: JSON `{"errors": [non-empty strings...]}`, length right. */
export function inErrorShape(response: WireMessage): boolean {
  if (!(header(response, "content-type") ?? "").startsWith("application/json")) return false;
  const length = header(response, "content-length");
  if (length !== undefined && Number(length) !== response.body.length) return false;
  try {
    const parsed = JSON.parse(response.body.toString("utf8")) as { errors?: unknown };
    return (
      Array.isArray(parsed.errors) &&
      parsed.errors.length > 0 &&
      parsed.errors.every((e) => typeof e === "string" && e !== "")
    );
  } catch {
    return false;
  }
}

/** Counts responses >= 400 and how many of them are in the error shape. */
export class ErrorShapeTally {
  errors = 0;
  conforming = 0;
  readonly offenders: string[] = [];

  add(response: WireMessage): void {
    if (Number(response.startLine[1]) < 400) return;
    this.errors++;
    if (inErrorShape(response)) this.conforming++;
    else if (this.offenders.length < 10) {
      this.offenders.push(`${response.startLine.join(" ")} ${response.body.toString("latin1").slice(0, 120)}`);
    }
  }

  get percent(): number {
    return this.errors === 0 ? 100 : (100 * this.conforming) / this.errors;
  }
}
