import { TEST_TOKEN } from "../../helpers/backend.js";

/** A small seeded PRNG (mulberry32): the same seed gives the same mutations, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Marks the secrets the fuzz requests carry, to look for in the logs afterwards. */
export const FUZZ_TOKEN = "hvs.fuzz-secret-7f3a9c";

const TOKEN_LINES = [`X-Nomad-Token: ${TEST_TOKEN}`, `X-Vault-Token: ${FUZZ_TOKEN}`, `Cookie: token=${FUZZ_TOKEN}`];
const CORPUS = [
  "GET /v1/secret/foo HTTP/1.1\r\nHost: gw\r\n{T}\r\n\r\n",
  'POST /v1/secret/foo HTTP/1.1\r\nHost: gw\r\n{T}\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"value":"bar"}',
  "PUT /v1/secret/foo HTTP/1.1\r\nHost: gw\r\n{T}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "DELETE /v1/secret/foo HTTP/1.1\r\nHost: gw\r\n{T}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nGET \r\n0\r\n\r\n",
  "LIST /v1/secret/ HTTP/1.1\r\nHost: gw\r\n{T}\r\n\r\n",
  'POST /v1/auth/userpass/login/ada HTTP/1.1\r\nHost: gw\r\nContent-Length: 24\r\n\r\n{"password":"lovelace1"}',
  "GET /v1/sys/health HTTP/1.1\r\nHost: gw\r\n\r\nGET /v1/secret/a?list=true HTTP/1.1\r\nHost: gw\r\n{T}\r\n\r\n",
  "OPTIONS /v1/secret/foo HTTP/1.1\r\nHost: gw\r\n{T}\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
];
const INTERESTING = [
  ..."\r\n \t:;,/\\%\x00\x0b\x7f\xff".split(""),
  "\r\n",
  "\r\n\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Content-Length: 99999999999999999999\r\n",
  "Content-Length: 0\r\n",
  "Host: other\r\n",
  "%2e%2e/",
  "/../",
  "LIST ",
  "GET ",
  "HTTP/1.0",
  "ffffffffffffffff\r\n",
  "0\r\n\r\n",
  "Connection: close\r\n",
  "Expect: 100-continue\r\n",
  "X_Vault_Token: x\r\n",
];

type Mutation = (bytes: Buffer, random: () => number) => Buffer;
const at = (n: number, random: () => number) => Math.floor(random() * (n + 1));
const MUTATIONS: readonly Mutation[] = [
  (b, r) =>
    Buffer.concat([b.subarray(0, at(b.length, r)), Buffer.from([Math.floor(r() * 256)]), b]).subarray(0, b.length + 1),
  (b, r) => {
    const copy = Buffer.from(b);
    if (copy.length > 0) copy[at(copy.length - 1, r)] = Math.floor(r() * 256);
    return copy;
  },
  (b, r) => {
    const i = at(b.length, r);
    return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + at(8, r)))]);
  },
  (b, r) => {
    const i = at(b.length, r);
    const piece = INTERESTING[Math.floor(r() * INTERESTING.length)] ?? "";
    return Buffer.concat([b.subarray(0, i), Buffer.from(piece, "latin1"), b.subarray(i)]);
  },
  (b, r) => {
    const i = at(b.length, r);
    const j = Math.min(b.length, i + at(40, r));
    return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
  },
  (b, r) => b.subarray(0, at(b.length, r)),
  (b, r) => Buffer.concat([b, Buffer.from("x".repeat(at(20_000, r)))]),
  (b, r) => {
    const text = b.toString("latin1");
    return Buffer.from(r() < 0.5 ? text.toLowerCase() : text.replace(/\r\n/g, "\n"), "latin1");
  },
];

/** `count` mutated requests: 1-4 mutations of a corpus request each. None carries a token in its request line. */
export function mutatedRequests(seed: number, count: number): Buffer[] {
  const random = prng(seed);
  const out: Buffer[] = [];
  while (out.length < count) {
    const base = CORPUS[Math.floor(random() * CORPUS.length)] ?? "";
    let bytes: Buffer = Buffer.from(
      base.replace("{T}", TOKEN_LINES[Math.floor(random() * TOKEN_LINES.length)] ?? ""),
      "latin1",
    );
    const rounds = 1 + Math.floor(random() * 4);
    for (let i = 0; i < rounds; i++) {
      const mutate = MUTATIONS[Math.floor(random() * MUTATIONS.length)];
      if (mutate !== undefined) bytes = mutate(bytes, random);
    }
    // a token moved into the path would be logged as the path the client chose: not a leak, and not tested here
    const firstLine = bytes.toString("latin1").split("\n", 1)[0] ?? "";
    if (firstLine.includes("fuzz-secret") || firstLine.includes(TEST_TOKEN)) continue;
    out.push(bytes);
  }
  return out;
}
