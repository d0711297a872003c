import test from "ava";
import { ConfigError } from "../../../src/errors/gateway-error.js";
import { createHelpRegistry, HelpRegistry } from "../../../src/plugins/help/registry.js";

// every path the development store serves, as a client would call it
const devStorePaths = [
  "/v1/sys/health",
  "/v1/sys/seal-status",
  "/v1/sys/seal",
  "/v1/sys/unseal",
  "/v1/auth/token/lookup-self",
  "/v1/auth/token/create",
  "/v1/auth/token/revoke-self",
  "/v1/sys/capabilities-self",
  "/v1/sys/policy",
  "/v1/sys/policy/dev",
  "/v1/auth/userpass/users",
  "/v1/auth/userpass/users/alice",
  "/v1/auth/userpass/login/alice",
  "/v1/secret/foo",
  "/v1/secret/team/app/db",
  "/v1/secret/",
];

test("the built-in registry has a text for every path the development store serves", (t) => {
  const registry = createHelpRegistry();
  for (const path of devStorePaths) {
    const text = registry.lookup(path);
    t.truthy(text, path);
    t.true((text ?? "").length > 60, `${path} has a real text`);
  }
});

test("built-in texts name the methods and parameters of their path", (t) => {
  const registry = createHelpRegistry();
  t.regex(registry.lookup("/v1/secret/foo") ?? "", /GET[\s\S]*POST[\s\S]*DELETE/);
  t.regex(registry.lookup("/v1/auth/userpass/login/alice") ?? "", /password/);
  t.regex(registry.lookup("/v1/auth/token/create") ?? "", /policies[\s\S]*ttl/);
  t.regex(registry.lookup("/v1/sys/unseal") ?? "", /key/);
});

test("paths nobody registered have no help, look-alikes included", (t) => {
  const registry = createHelpRegistry();
  for (const path of [
    "/v1/sys/mounts",
    "/v1/sys/healthx",
    "/v1/secretx/foo",
    "/v1/auth/userpass/login",
    "/sys/health",
  ]) {
    t.is(registry.lookup(path), undefined, path);
  }
});

test("the most specific pattern wins: more literal segments, then fixed length, then the later entry", (t) => {
  const registry = new HelpRegistry([
    ["secret/**", "any secret"],
    ["secret/*", "a top-level secret"],
    ["secret/team/**", "a team secret"],
    ["secret/team/*", "a team's own secret"],
  ]);
  t.is(registry.lookup("/v1/secret/foo"), "a top-level secret");
  t.is(registry.lookup("/v1/secret/a/b"), "any secret");
  t.is(registry.lookup("/v1/secret/team/app"), "a team's own secret");
  t.is(registry.lookup("/v1/secret/team/app/db"), "a team secret");
  registry.add("secret/*", "overridden");
  t.is(registry.lookup("/v1/secret/foo"), "overridden");
});

test("extra entries from configuration add paths and override built-in texts", (t) => {
  const registry = createHelpRegistry({ "transit/encrypt/*": "Encrypts.", "sys/health": "Our health text." });
  t.is(registry.lookup("/v1/transit/encrypt/k1"), "Encrypts.");
  t.is(registry.lookup("/v1/sys/health"), "Our health text.");
});

test("a bad pattern is a ConfigError naming the entry", (t) => {
  t.throws(() => createHelpRegistry({ "/secret//x": "no" }), { instanceOf: ConfigError, message: /help\.entries/ });
});
