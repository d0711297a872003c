// What every row sends and what the backend answers: shared by the servers and the harness.

/** The token every row sends; the backend's lookup-self accepts it and only it. */
export const BENCH_TOKEN = "hvs.bench-token-0123456789abcdef";
/** The path every row requests. */
export const BENCH_PATH = "/v1/secret/data/bench";
/** The streaming endpoint of the memory mode: /v1/bench/stream?bytes=N sends N bytes of application/octet-stream. */
export const STREAM_PATH = "/v1/bench/stream";

/** A Vault-shaped KV answer of exactly 133 bytes (the size the measurements used). */
export const BENCH_BODY = vaultBody(133);

function vaultBody(size: number): Buffer {
  const shape = (value: string) =>
    JSON.stringify({
      request_id: "4f1c2a5e-8d3b-4c7a-9e6f-0b2d4a6c8e10",
      lease_id: "",
      renewable: false,
      lease_duration: 2764800,
      data: { value },
    });
  const value = "s".repeat(size - shape("").length);
  const body = Buffer.from(shape(value));
  if (body.length !== size) throw new Error(`backend body is ${body.length} bytes, not ${size}`);
  return body;
}
