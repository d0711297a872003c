import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { badRequest } from "./http.js";

/** What `sys/health` and `sys/seal-status` report as the server's version. */
export const VERSION = "1.15.0+portcullis.devstore";
const BUILD_DATE = "2024-01-01T00:00:00Z";

/**
 * The seal of a one-key Shamir setup (t = n = 1). Sealing here only gates the API: the state in memory and on
 * disk is not encrypted, this is a development store.
 */
export class Seal {
  /** base64, as `vault operator init` prints unseal keys */
  readonly unsealKey: string;
  readonly clusterName = `vault-cluster-${randomBytes(4).toString("hex")}`;
  readonly clusterId = randomUUID();
  private readonly key: Buffer;

  constructor(
    public sealed: boolean,
    readonly storageType: string,
  ) {
    this.key = randomBytes(32);
    this.unsealKey = this.key.toString("base64");
  }

  /** Unseals when `candidate` is the key; Vault answers a wrong key with 400 and this message. */
  unseal(candidate: string): void {
    const given = decodeKey(candidate);
    // lengths are public (every key has 32 bytes); the bytes are compared in constant time
    if (given.length !== this.key.length || !timingSafeEqual(given, this.key)) {
      throw badRequest("Unseal failed, invalid key");
    }
    this.sealed = false;
  }

  status(): Record<string, unknown> {
    return {
      type: "shamir",
      initialized: true,
      sealed: this.sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: "",
      version: VERSION,
      build_date: BUILD_DATE,
      migration: false,
      recovery_seal: false,
      storage_type: this.storageType,
      ...(this.sealed ? {} : { cluster_name: this.clusterName, cluster_id: this.clusterId }),
    };
  }
}

/** Vault accepts unseal keys in hex or base64. */
function decodeKey(candidate: string): Buffer {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(candidate)) return Buffer.from(candidate, "hex");
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(candidate) && candidate.length % 4 === 0) return Buffer.from(candidate, "base64");
  throw badRequest("'key' must be a valid hex or base64 string");
}
