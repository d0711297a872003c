// Messages between the primary of `serve --workers N` and its workers (metric requests use the same channel).
export const READY = "portcullis:ready";
export const DRAIN = "portcullis:drain";

export interface ClusterMessage {
  type?: unknown;
  url?: unknown;
}
