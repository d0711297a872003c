import test from "ava";
import { ConfigError } from "../../../src/errors/gateway-error.js";
import { createPathList, DEFAULT_ALLOW_LIST } from "../../../src/plugins/auth/allow-list.js";

const defaults = createPathList(DEFAULT_ALLOW_LIST);

const cases: Array<{ desc: string; path: string; anonymous: boolean }> = [
  { desc: "a userpass login", path: "/v1/auth/userpass/login/alice", anonymous: true },
  { desc: "a login without anything below", path: "/v1/auth/approle/login", anonymous: true },
  { desc: "a login with a trailing slash", path: "/v1/auth/userpass/login/", anonymous: true },
  { desc: "deeper below a login", path: "/v1/auth/ldap/login/a/b", anonymous: true },
  { desc: "sys/health", path: "/v1/sys/health", anonymous: true },
  { desc: "sys/seal-status", path: "/v1/sys/seal-status", anonymous: true },
  { desc: "sys/unseal", path: "/v1/sys/unseal", anonymous: true },
  { desc: "a login look-alike segment", path: "/v1/auth/userpass/loginx", anonymous: false },
  { desc: "a login look-alike below", path: "/v1/auth/userpass/loginx/alice", anonymous: false },
  { desc: "a login without a backend", path: "/v1/auth/login", anonymous: false },
  { desc: "a login under a nested mount", path: "/v1/auth/a/b/login", anonymous: false },
  { desc: "an empty backend segment", path: "/v1/auth//login", anonymous: false },
  { desc: "sys/healthx", path: "/v1/sys/healthx", anonymous: false },
  { desc: "below sys/health", path: "/v1/sys/health/x", anonymous: false },
  { desc: "a dot segment after sys/health", path: "/v1/sys/health/../secret", anonymous: false },
  { desc: "sys/health with a trailing slash", path: "/v1/sys/health/", anonymous: false },
  { desc: "another case", path: "/v1/SYS/health", anonymous: false },
  { desc: "sys/seal (needs a token)", path: "/v1/sys/seal", anonymous: false },
  { desc: "a secret", path: "/v1/secret/foo", anonymous: false },
  { desc: "token lookup", path: "/v1/auth/token/lookup-self", anonymous: false },
  { desc: "a path outside /v1/", path: "/sys/health", anonymous: false },
  { desc: "another version prefix", path: "/v2/sys/health", anonymous: false },
];

for (const { desc, path, anonymous } of cases) {
  test(`the default allow-list ${anonymous ? "lets through" : "refuses"} ${desc} (${path})`, (t) => {
    t.is(defaults.matches(path), anonymous);
  });
}

test("a * matches exactly one segment and a final ** matches the pattern itself and anything below", (t) => {
  const list = createPathList(["kv/*/meta", "pub/**"]);
  t.true(list.matches("/v1/kv/a/meta"));
  t.false(list.matches("/v1/kv/meta"));
  t.false(list.matches("/v1/kv/a/b/meta"));
  t.false(list.matches("/v1/kv/a/meta/x"));
  t.true(list.matches("/v1/pub"));
  t.true(list.matches("/v1/pub/a/b/c"));
  t.false(list.matches("/v1/public"));
});

const badPatterns = [
  "",
  "/sys/health",
  "sys//health",
  "sys/health/",
  "sys/../health",
  "auth/**/login",
  "auth/log*",
  "**",
  "a/%2e",
];
for (const pattern of badPatterns) {
  test(`the pattern "${pattern}" is refused when the list is built, naming the key`, (t) => {
    const error = t.throws(() => createPathList(["sys/health", pattern], "auth.allowList"), {
      instanceOf: ConfigError,
    });
    t.true(error?.message.startsWith("auth.allowList[1]:"));
  });
}
