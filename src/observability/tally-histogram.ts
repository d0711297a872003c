import type { Metric, Registry } from "prom-client";

export interface TallyHistogramConfiguration {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending (prom-client's `buckets`). */
  readonly buckets: readonly number[];
  /** The one label, if any (observe takes its value). */
  readonly labelName?: string;
  readonly registers: readonly Registry[];
}

/** One label value's observations: per-bucket counts (not yet cumulative), their sum and count. */
interface Series {
  readonly labels: Record<string, string>;
  readonly counts: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

/**
 * A histogram that tallies each observation in plain arrays and builds prom-client's export of it when scraped.
 * prom-client's `Histogram.observe` checks the labels object against the label names and hashes it into a key on
 * every call: 1.6 % of the gateway's busy CPU in a profile at 50 connections, for one observation per request.
 * Registered as a metric of its own, it exports what prom-client's Histogram exports for the same observations
 * (the same text, the same JSON, `aggregator: "sum"` for the cluster's aggregation; a test holds them equal).
 */
export class TallyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #bounds: readonly number[];
  readonly #labelName: string | undefined;
  readonly #series = new Map<string, Series>();

  constructor(configuration: TallyHistogramConfiguration) {
    this.name = configuration.name;
    this.help = configuration.help;
    this.#bounds = [...configuration.buckets];
    this.#labelName = configuration.labelName;
    // as prom-client does: a histogram without labels exports its zeros before the first observation
    if (this.#labelName === undefined) this.#seriesOf("");
    for (const registry of configuration.registers) registry.registerMetric(this as unknown as Metric);
  }

  /**
   * Counts `value` under the label value `labelValue` (ignored without a label). A value that is not finite is not
   * counted (prom-client throws, which in a request's end hook would lose the request's other counts).
   */
  observe(value: number, labelValue = ""): void {
    if (!Number.isFinite(value)) return;
    const key = this.#labelName === undefined ? "" : labelValue;
    const series = this.#series.get(key) ?? this.#seriesOf(key);
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    if (bucket < bounds.length) (series.counts[bucket] as number)++;
    series.sum += value;
    series.count++;
  }

  #seriesOf(labelValue: string): Series {
    const labels: Record<string, string> = this.#labelName === undefined ? {} : { [this.#labelName]: labelValue };
    const series = { labels, counts: new Array<number>(this.#bounds.length).fill(0), sum: 0, count: 0 };
    this.#series.set(labelValue, series);
    return series;
  }

  /** prom-client's shape for the text exposition: `le` in labels, the series' own labels shared. */
  async getForPromString() {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += counts[i] as number;
        values.push({
          labels: { le: bound },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucketName,
          exemplar: null,
        });
      });
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: labels, value: count, metricName: bucketName, exemplar: null },
        { labels: {}, sharedLabels: labels, value: sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: labels, value: count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** prom-client's shape for JSON (and the cluster's aggregation): the shared labels merged into each value's. */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...value }) => ({
        ...value,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  reset(): void {
    this.#series.clear();
  }
}
