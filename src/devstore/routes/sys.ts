import { badRequest, noContent } from "../http.js";
import { VERSION } from "../seal.js";
import { authorize, type Route } from "./context.js";

/** `?sealedcode=`-style overrides of sys/health's status codes, as Vault reads them. */
function statusOverride(query: URLSearchParams, name: string, fallback: number): number {
  const value = Number(query.get(name));
  return query.has(name) && Number.isInteger(value) && value >= 100 && value <= 599 ? value : fallback;
}

export const sysRoutes: readonly Route[] = [
  {
    pattern: /^sys\/health$/,
    operations: ["GET", "HEAD"],
    unauthenticated: true,
    whileSealed: true,
    handle({ seal, query }) {
      const status = seal.sealed ? statusOverride(query, "sealedcode", 503) : statusOverride(query, "activecode", 200);
      return {
        status,
        body: {
          initialized: true,
          sealed: seal.sealed,
          standby: false,
          performance_standby: false,
          replication_performance_mode: "disabled",
          replication_dr_mode: "disabled",
          server_time_utc: Math.floor(Date.now() / 1000),
          version: VERSION,
          enterprise: false,
          echo_duration_ms: 0,
          clock_skew_ms: 0,
          ...(seal.sealed ? {} : { cluster_name: seal.clusterName, cluster_id: seal.clusterId }),
        },
      };
    },
  },
  {
    pattern: /^sys\/seal-status$/,
    operations: ["GET"],
    unauthenticated: true,
    whileSealed: true,
    handle: ({ seal }) => ({ status: 200, body: seal.status() }),
  },
  {
    pattern: /^sys\/unseal$/,
    operations: ["POST"],
    unauthenticated: true,
    whileSealed: true,
    handle({ seal, body }) {
      // with one key share there is no progress to reset: a reset just reports the status
      if (body.reset === true || !seal.sealed) return { status: 200, body: seal.status() };
      if (typeof body.key !== "string" || body.key === "") {
        throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
      }
      seal.unseal(body.key);
      return { status: 200, body: seal.status() };
    },
  },
  {
    pattern: /^sys\/seal$/,
    operations: ["POST"],
    handle(ctx) {
      // Vault's sys/seal is sudo-protected: the root token, or a policy granting sudo on it
      authorize(ctx, "sys/seal", "update", "sudo");
      ctx.seal.sealed = true;
      return noContent;
    },
  },
];
