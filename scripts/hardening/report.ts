import type { ErrorShapeTally } from "../../test/hardening/helpers/error-shape.js";

/** One line per figure, and a non-zero exit when a figure that must hold does not. */
export class Report {
  private failed = false;

  constructor(private readonly title: string) {
    process.stdout.write(`\n${title}\n${"-".repeat(title.length)}\n`);
  }

  line(label: string, value: string | number): void {
    process.stdout.write(`${label.padEnd(58)} ${value}\n`);
  }

  /** A figure with the value it must have. */
  check(label: string, value: number, ok: (value: number) => boolean, shown: string = String(value)): void {
    const good = ok(value);
    if (!good) this.failed = true;
    this.line(label, `${shown}${good ? "" : "   <-- FAILED"}`);
  }

  /** Every response >= 400 must be in the `{"errors": [...]}` shape; the offenders are listed. */
  errorShape(tally: ErrorShapeTally): void {
    this.check(
      `responses >= 400 in the errors shape (of ${tally.errors})`,
      tally.percent,
      (p) => p === 100,
      `${tally.percent.toFixed(2)} %`,
    );
    this.details(tally.offenders);
  }

  details(lines: readonly string[], max = 10): void {
    for (const line of lines.slice(0, max)) process.stdout.write(`    ${line}\n`);
    if (lines.length > max) process.stdout.write(`    ... ${lines.length - max} more\n`);
  }

  finish(): never {
    process.stdout.write(`${this.failed ? "FAILED" : "OK"}: ${this.title}\n`);
    process.exit(this.failed ? 1 : 0);
  }
}
