import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";

// ioredis 6 leaves String.prototype in V8's dictionary mode, which makes every method call on a string in the
// process several times slower (src/ratelimit/ioredis.ts). V8 itself says whether it is: %HasFastProperties.

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

async function stringPrototypeIsFast(imports: string): Promise<boolean> {
  const script = `${imports}; console.log(%HasFastProperties(String.prototype));`;
  const { stdout } = await run(
    process.execPath,
    ["--allow-natives-syntax", "--import=tsx", "--input-type=module", "-e", script],
    { cwd: root },
  );
  return stdout.trim() === "true";
}

test("loading ioredis alone slows every string method: String.prototype turns into a dictionary", async (t) => {
  t.true(await stringPrototypeIsFast(""), "fast before anything is loaded");
  t.false(await stringPrototypeIsFast('await import("ioredis")'));
});

test("loading Portcullis (which loads ioredis) leaves String.prototype fast", async (t) => {
  t.true(await stringPrototypeIsFast('await import("./src/index.ts")'));
});
