import test from "ava";
import { BackendUnavailableError, ConfigError } from "../../../src/errors/gateway-error.js";
import { TokenCache } from "../../../src/plugins/auth/cache.js";
import { createTokenHasher } from "../../../src/plugins/auth/token-id.js";
import type { TokenVerifier, VerifyResult } from "../../../src/plugins/auth/verifier.js";

/** A verifier whose answers the test sets, counting calls; `release` lets held calls finish. */
function fakeVerifier(answer: (token: string) => VerifyResult | Error) {
  let calls = 0;
  let release: () => void = () => {};
  let held: Promise<void> | undefined;
  const verifier: TokenVerifier = {
    async verify(token) {
      calls++;
      if (held !== undefined) await held;
      const result = answer(token);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return {
    verifier,
    calls: () => calls,
    hold() {
      held = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

const clock = () => {
  let now = 1_000;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
};

test("1000 concurrent checks of one new token make exactly one verifier call", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  fake.hold();
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  const checks = Array.from({ length: 1000 }, () => cache.check("t-new"));
  fake.release();
  const results = await Promise.all(checks);
  t.is(fake.calls(), 1);
  t.true(results.every((r) => r.result.valid && r.tokenId === results[0]?.tokenId));
});

test("concurrent checks of one new token ask beforeLookup once, and share the one verifier call", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  let asked = 0;
  const budget = async () => {
    asked++;
    await new Promise((resolve) => setTimeout(resolve, 10)); // a limiter's round trip
  };
  const results = await Promise.all(Array.from({ length: 100 }, () => cache.check("t-new", undefined, budget)));
  t.is(asked, 1);
  t.is(fake.calls(), 1);
  t.true(results.every((r) => r.result.valid));
  await cache.check("t-new", undefined, budget);
  t.is(asked, 1, "a cached answer asks nothing");
});

test("checks that joined a call refused by another caller's beforeLookup decide on their own", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  const refusal = new Error("over budget");
  const refused = cache.check("t-new", undefined, async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw refusal;
  });
  const allowed = cache.check("t-new", undefined, async () => {}); // joins the call above while it is refused
  const error = await t.throwsAsync(refused);
  t.is(error, refusal, "the refused caller gets its own refusal");
  t.true((await allowed).result.valid, "the other one makes the call on its own account");
  t.is(fake.calls(), 1);
});

test("a refused call leaves nothing behind: the same token may be checked again at once", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  const refusal = new Error("over budget");
  await t.throwsAsync(
    cache.check("t-new", undefined, async () => {
      throw refusal;
    }),
    { is: refusal },
  );
  t.is(fake.calls(), 0);
  t.true((await cache.check("t-new", undefined, async () => {})).result.valid);
  t.is(fake.calls(), 1);
});

test("re-checks of a token found valid are not charged to beforeLookup; an invalid one's are", async (t) => {
  const fake = fakeVerifier((token) => (token === "t-good" ? { valid: true } : { valid: false }));
  const time = clock();
  const cache = new TokenCache(fake.verifier, createTokenHasher(), {
    positiveTtlMs: 30_000,
    negativeTtlMs: 5_000,
    now: time.now,
  });
  let charged = 0;
  const budget = async () => {
    charged++;
  };
  await cache.check("t-good", undefined, budget);
  await cache.check("t-bad", undefined, budget);
  t.is(charged, 2);
  time.advance(31_000); // both answers expired: both tokens are asked again
  await cache.check("t-good", undefined, budget);
  await cache.check("t-bad", undefined, budget);
  t.is(fake.calls(), 4);
  t.is(charged, 3, "only the invalid token's re-check was charged");
  time.advance(2 * 60 * 60 * 1000); // vouched for an hour, not for ever
  await cache.check("t-good", undefined, budget);
  t.is(charged, 4);
});

test("an invalid answer is reused until negativeTtl has passed, then asked again", async (t) => {
  const time = clock();
  const fake = fakeVerifier(() => ({ valid: false }));
  const cache = new TokenCache(fake.verifier, createTokenHasher(), { negativeTtlMs: 5_000, now: time.now });
  await cache.check("bad");
  time.advance(4_999);
  t.false((await cache.check("bad")).result.valid);
  t.is(fake.calls(), 1);
  time.advance(2);
  await cache.check("bad");
  t.is(fake.calls(), 2);
});

test("a valid answer lives min(positiveTtl, the token's own ttl)", async (t) => {
  const time = clock();
  const fake = fakeVerifier((token) => ({ valid: true, ttlSeconds: token === "short" ? 2 : 0 }));
  const cache = new TokenCache(fake.verifier, createTokenHasher(), { positiveTtlMs: 10_000, now: time.now });
  await cache.check("short");
  await cache.check("forever");
  time.advance(2_001);
  await cache.check("short"); // its own ttl ran out: asked again
  await cache.check("forever"); // ttl 0 = no expiry: the positive TTL applies
  t.is(fake.calls(), 3);
  time.advance(8_000);
  await cache.check("forever");
  t.is(fake.calls(), 4);
});

test("an outage reaches every waiting caller and is not remembered", async (t) => {
  let down = true;
  const fake = fakeVerifier(() => (down ? new BackendUnavailableError() : { valid: true }));
  fake.hold();
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  const checks = [cache.check("t"), cache.check("t"), cache.check("t")];
  fake.release();
  for (const check of checks) await t.throwsAsync(check, { instanceOf: BackendUnavailableError });
  t.is(fake.calls(), 1);
  down = false;
  t.true((await cache.check("t")).result.valid);
  t.is(fake.calls(), 2);
});

test("a verifier that throws synchronously is an outage like any other", async (t) => {
  const cache = new TokenCache(
    {
      verify() {
        throw new BackendUnavailableError();
      },
    },
    createTokenHasher(),
  );
  await t.throwsAsync(cache.check("t"), { instanceOf: BackendUnavailableError });
});

test("invalidate() forgets a token, and an answer still on its way is not stored", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  await cache.check("t");
  cache.invalidate("t");
  t.is(cache.size, 0);
  fake.hold();
  const pending = cache.check("t");
  cache.invalidate("t");
  fake.release();
  await pending;
  t.is(cache.size, 0);
  await cache.check("t");
  t.is(fake.calls(), 3);
});

test("invalidating one token leaves another token's lookup in flight alone", async (t) => {
  const fake = fakeVerifier(() => ({ valid: true }));
  fake.hold();
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  const pending = cache.check("a");
  cache.invalidate("b");
  fake.release();
  await pending;
  await cache.check("a");
  t.is(fake.calls(), 1);
});

test("prime() makes a new token valid without a call, and replaces a remembered invalid answer", async (t) => {
  const fake = fakeVerifier(() => ({ valid: false }));
  const cache = new TokenCache(fake.verifier, createTokenHasher());
  await cache.check("fresh");
  cache.prime("fresh", { valid: true, ttlSeconds: 60 });
  t.true((await cache.check("fresh")).result.valid);
  t.is(fake.calls(), 1);
});

test("the cache holds at most max valid and negativeMax invalid entries", async (t) => {
  const fake = fakeVerifier((token) => ({ valid: token.startsWith("good") }));
  const cache = new TokenCache(fake.verifier, createTokenHasher(), { max: 3, negativeMax: 2 });
  for (let i = 0; i < 10; i++) await cache.check(`good-${i}`);
  for (let i = 0; i < 10; i++) await cache.check(`bad-${i}`);
  t.is(cache.size, 5);
  await cache.check("good-9"); // made-up tokens did not push the valid ones out
  t.is(fake.calls(), 20);
});

test("token ids are keyed hashes: hex, never the token, different under another secret", (t) => {
  const a = createTokenHasher("a".repeat(32));
  const b = createTokenHasher("b".repeat(32));
  t.regex(a("s.token"), /^[0-9a-f]{64}$/);
  t.is(a("s.token"), a("s.token"));
  t.not(a("s.token"), b("s.token"));
  t.not(createTokenHasher()("s.token"), createTokenHasher()("s.token"));
});

test("a secret shorter than 32 bytes and non-positive bounds are configuration errors", (t) => {
  t.throws(() => createTokenHasher("short"), { instanceOf: ConfigError, message: /auth\.secret/ });
  const verifier: TokenVerifier = { verify: async () => ({ valid: true }) };
  t.throws(() => new TokenCache(verifier, createTokenHasher(), { max: 0 }), { message: /auth\.cache\.max/ });
  t.throws(() => new TokenCache(verifier, createTokenHasher(), { positiveTtlMs: -1 }), { message: /positiveTtlMs/ });
});
