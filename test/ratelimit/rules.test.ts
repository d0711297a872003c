import test from "ava";
import { ConfigError } from "../../src/errors/gateway-error.js";
import { clientNetwork, hashTag, KeyBuilder } from "../../src/ratelimit/keys.js";
import { compileRules, localShare, matchRules, type RateLimitRule } from "../../src/ratelimit/rules.js";

const base: RateLimitRule = { name: "reads", paths: ["secret/*"], key: "token", limit: 10, periodMs: 1000 };

const invalid: { desc: string; rule: Record<string, unknown>; message: RegExp }[] = [
  { desc: "a name with a space", rule: { name: "my rule" }, message: /rules\[0\]\.name:/ },
  { desc: "no paths", rule: { paths: [] }, message: /\("reads"\)\.paths: must be a non-empty list/ },
  {
    desc: "a path with /v1/",
    rule: { paths: ["/v1/secret/*"] },
    message: /\("reads"\)\.paths\[0\]: .*relative to \/v1\//,
  },
  { desc: "an empty segment", rule: { paths: ["secret//x"] }, message: /paths\[0\]: .*empty segment/ },
  {
    desc: "an unknown key",
    rule: { key: "user" },
    message: /\("reads"\)\.key: must be one of token, cert, ip, global/,
  },
  { desc: "a zero limit", rule: { limit: 0 }, message: /\("reads"\)\.limit: must be a positive integer/ },
  { desc: "a fractional period", rule: { periodMs: 1.5 }, message: /\("reads"\)\.periodMs:/ },
  { desc: "a negative burst", rule: { burst: -1 }, message: /\("reads"\)\.burst:/ },
  { desc: "an unknown fallback", rule: { fallback: "maybe" }, message: /\("reads"\)\.fallback: must be one of/ },
  { desc: "a period of centuries", rule: { periodMs: 3e12, limit: 1 }, message: /\("reads"\)\.periodMs: .*31 years/ },
];

for (const { desc, rule, message } of invalid) {
  test(`rules: refuses ${desc}, naming the rule and the field`, (t) => {
    const error = t.throws(() => compileRules([{ ...base, ...rule } as RateLimitRule]), { instanceOf: ConfigError });
    t.regex(error?.message ?? "", message);
  });
}

test("rules: refuses two rules with one name", (t) => {
  t.throws(() => compileRules([base, base]), {
    instanceOf: ConfigError,
    message: /rules\[1\]\.name: "reads" is used twice/,
  });
});

const matching: { pattern: string; path: string; matches: boolean }[] = [
  { pattern: "*", path: "/v1/sys/health", matches: true },
  { pattern: "secret/*", path: "/v1/secret/foo", matches: true },
  { pattern: "secret/*", path: "/v1/secret/foo/bar", matches: true },
  { pattern: "secret/*", path: "/v1/secret", matches: false },
  { pattern: "secret/*", path: "/v1/secretive/foo", matches: false },
  { pattern: "auth/*/login", path: "/v1/auth/userpass/login", matches: true },
  { pattern: "auth/*/login", path: "/v1/auth/userpass/login/alice", matches: false },
  { pattern: "auth/*/login/*", path: "/v1/auth/userpass/login/alice", matches: true },
  { pattern: "auth/*/login", path: "/v1/auth/a/b/login", matches: false },
  { pattern: "sys/seal*", path: "/v1/sys/seal-status", matches: true },
  { pattern: "sys/seal*", path: "/v1/sys/seal/x", matches: false },
  { pattern: "sys/h.alth", path: "/v1/sys/health", matches: false },
];

for (const { pattern, path, matches } of matching) {
  test(`patterns: "${pattern}" ${matches ? "matches" : "does not match"} ${path}`, (t) => {
    const rules = compileRules([{ ...base, paths: [pattern] }]);
    t.is(matchRules(rules, path).length, matches ? 1 : 0);
  });
}

test("local share: limit / gatewayCount, rounded down for login rules and up for others, never below 1", (t) => {
  const [login, reads] = compileRules([
    { name: "login", paths: ["auth/*/login/*"], key: "ip", limit: 5, periodMs: 60_000 },
    { ...base, limit: 5 },
  ]);
  if (login === undefined || reads === undefined) return t.fail();
  t.like(localShare(login, 3), { limit: 1, burst: 1, emissionUs: 60_000_000 });
  t.like(localShare(reads, 3), { limit: 2, burst: 2 });
  t.like(localShare(login, 10), { limit: 1 });
});

test("keys: hold hashes, never a token id or an address, and tag by the identity the rule counts", (t) => {
  const [byToken, byIp, global] = compileRules([
    base,
    { ...base, name: "ip", key: "ip" },
    { ...base, name: "all", key: "global" },
  ]);
  if (byToken === undefined || byIp === undefined || global === undefined) return t.fail();
  const keys = new KeyBuilder({ secret: "s3cret" });
  const identity = { ip: "203.0.113.9", tokenId: "tok-abc" };
  const tokenKey = keys.keyFor(byToken, identity);
  t.regex(tokenKey, /^pc:\{t:[\w-]{22}\}:reads$/);
  t.false(tokenKey.includes("tok-abc"));
  t.regex(keys.keyFor(byIp, identity), /^pc:\{i:[\w-]{22}\}:ip$/);
  t.false(keys.keyFor(byIp, identity).includes("203.0.113"));
  t.is(keys.keyFor(global, identity), "pc:{g}:all");
  // no token yet (a login): the token rule counts by ip, in the ip's slot
  t.is(hashTag(keys.keyFor(byToken, { ip: "203.0.113.9" })), hashTag(keys.keyFor(byIp, identity)));
  t.not(new KeyBuilder({ secret: "other" }).keyFor(byIp, identity), keys.keyFor(byIp, identity));
});

test("keys: IPv6 clients count per /64, IPv4-mapped addresses as IPv4", (t) => {
  t.is(clientNetwork("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  t.is(clientNetwork("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  t.is(clientNetwork("2001:db8::1%eth0"), "2001:db8:0:0::/64");
  t.is(clientNetwork("::ffff:192.0.2.1"), "192.0.2.1");
  t.is(clientNetwork("192.0.2.1"), "192.0.2.1");
  t.is(hashTag("pc:{i:abc}:r"), "i:abc");
  t.is(hashTag("pc:{}:r"), undefined);
});
