import test from "ava";
import fc from "fast-check";
import { classifyTarget, readPath } from "../../../src/plugins/route/request-target.js";
import { classify, disagreements, MUST_REFUSE, requestTarget } from "../../hardening/helpers/path-model.js";

for (const [target, status, why] of MUST_REFUSE) {
  test(`refused with ${status}: ${why} (${JSON.stringify(target)})`, (t) => {
    t.deepEqual(classify(target), { refused: status });
  });
}

const CANONICAL: ReadonlyArray<readonly [string, string, string]> = [
  ["/v1/auth/userpass/log%69n/alice", "/v1/auth/userpass/login/alice", "escapes of letters are decoded"],
  ["/v1/secret/a%7eb%2d", "/v1/secret/a~b-", "escapes of unreserved marks are decoded"],
  ["/v1/secret/a%20b%3fc", "/v1/secret/a%20b%3Fc", "escapes of what cannot stand raw stay, upper-cased"],
  ["/v1/secret/caf%c3%a9", "/v1/secret/caf%C3%A9", "valid UTF-8 stays escaped"],
  ["/v1/secret/dir/", "/v1/secret/dir/", "a trailing slash is kept (Vault lists with it)"],
  ["/%76%31/secret/foo", "/v1/secret/foo", "an escaped prefix is the prefix"],
];
for (const [target, path, why] of CANONICAL) {
  test(`canonical: ${why}`, (t) => {
    t.is(classifyTarget(target).path, path);
  });
}

const UNICODE: ReadonlyArray<readonly [string, string]> = [
  ["/v1/secret/%c0%ae%c0%ae/sys", "overlong UTF-8 for '.'"],
  ["/v1/secret/%ef%bc%8e%ef%bc%8e/sys", "fullwidth full stops (NFKC: '.')"],
  ["/v1/%ef%bd%93ecret/foo", "a fullwidth letter (NFKC: 's')"],
  ["/v1/secret/e%CC%81", "a decomposed accent (NFKC composes it)"],
  ["/v1/secret/a%C2%85b", "a C1 control (NEL, a line break to some tools)"],
  ["/v1/secret/a%E2%80%A8b", "the Unicode line separator"],
  ["/v1/secret/%ff", "a byte that is not UTF-8"],
];
for (const [target, why] of UNICODE) {
  test(`refused with 400: ${why}`, (t) => {
    t.deepEqual(classify(target), { refused: 400 });
  });
}

test("2 000 generated targets: whatever is accepted is read alike by every backend reading (fast-check)", (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(requestTarget, (target) => {
      if ("accepted" in classify(target)) accepted++;
      const found = disagreements(target);
      if (found.length > 0) throw new Error(`${JSON.stringify(target)}: ${found.join("; ")}`);
    }),
    { numRuns: 2_000 },
  );
  // the generator must reach the accepted space, or the property says nothing
  t.true(accepted > 200, `only ${accepted} accepted`);
});

/** What a call did: the path it returned, or the message it refused with. */
function outcome(read: () => string): string {
  try {
    return `path ${read()}`;
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

test("the shortcut for canonical paths reads every path as the segment-by-segment reading does (fast-check)", (t) => {
  const segment = fc.oneof(
    fc.constantFrom("", ".", "..", "...", ".a", "a.", "a..b", "%2e", "%41", "x:y", "v1", "http:", "~", "a;b", "%25"),
    fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,=:@-]{1,6}$/),
  );
  const rawPath = fc.array(segment, { maxLength: 6 }).map((segments) => `/v1/${segments.join("/")}`);
  fc.assert(
    fc.property(fc.oneof(rawPath, fc.constantFrom("/v1", "/v1/", "/v2/a", "/v1//")), (path) => {
      t.is(
        outcome(() => classifyTarget(path).path),
        outcome(() => readPath(path)),
        path,
      );
    }),
    { numRuns: 2_000 },
  );
});
