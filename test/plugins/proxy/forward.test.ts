import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import test from "ava";
import { Forward } from "../../../src/plugins/proxy/engines/undici-forward.js";
import { ClientGoneError } from "../../../src/plugins/proxy/upstream-errors.js";

// The undici forward's held body, driven as undici drives it, into a stand-in for the client's response: what
// reaches the client, whether the upstream request is freed, and that the relay always learns how it ended.

/** A client's response whose writes never complete (a client that reads nothing) unless `flowing`. */
function clientResponse(flowing = false) {
  const written: Buffer[] = [];
  const res = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk);
      if (flowing) callback();
    },
  });
  return { res: res as unknown as ServerResponse, written };
}

function answered(body: Buffer[], options: { complete: boolean }) {
  const forward = new Forward();
  const upstream = { aborted: undefined as Error | undefined, resumed: 0 };
  void forward.settlement().catch(() => {});
  forward.onConnect((error) => {
    upstream.aborted = error ?? new Error("aborted");
  });
  forward.onHeaders(200, [], () => upstream.resumed++);
  for (const chunk of body) forward.onData(chunk);
  if (options.complete) forward.onComplete();
  return { forward, upstream };
}

function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => "resolved",
      (error: unknown) => `rejected: ${(error as Error).name}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms)),
  ]);
}

test("a body that arrived whole is written to the client in one piece and the send resolves", async (t) => {
  const { forward } = answered([Buffer.from('{"data":'), Buffer.from("{}}")], { complete: true });
  const { res, written } = clientResponse(true);
  forward.watch(res, 1_000);
  t.is(await settledWithin(forward.sendTo(res), 1_000), "resolved");
  t.is(Buffer.concat(written).toString(), '{"data":{}}');
});

test("a client that goes away before a whole, held body is flushed fails the send", async (t) => {
  const { forward } = answered([Buffer.alloc(60 * 1024, "x")], { complete: true });
  const { res } = clientResponse(false);
  forward.watch(res, 1_000);
  const sent = forward.sendTo(res);
  res.destroy();
  t.is(await settledWithin(sent, 1_000), `rejected: ${new ClientGoneError().name}`);
});

test("a client that goes away in the middle fails the send and aborts the upstream request", async (t) => {
  const { forward, upstream } = answered([Buffer.alloc(1024)], { complete: false });
  const { res } = clientResponse(false);
  forward.watch(res, 1_000);
  const sent = forward.sendTo(res);
  res.destroy();
  t.is(await settledWithin(sent, 1_000), `rejected: ${new ClientGoneError().name}`);
  t.true(upstream.aborted instanceof ClientGoneError);
});

test("a backend that breaks off while its body is held fails the send and cuts the client", async (t) => {
  const { forward } = answered([Buffer.alloc(1024)], { complete: false });
  forward.onError(new Error("other side closed"));
  const { res } = clientResponse(true);
  forward.watch(res, 1_000);
  t.is(await settledWithin(forward.sendTo(res), 1_000), "rejected: Error");
  t.true(res.destroyed, "a truncated answer must not look complete");
});

test("a full hold pauses the backend, and the send resumes it once the client has room", async (t) => {
  const forward = new Forward();
  let resumed = 0;
  void forward.settlement();
  forward.onConnect(() => {});
  forward.onHeaders(200, [], () => resumed++);
  const paused = Array.from({ length: 16 }, () => forward.onData(Buffer.alloc(64))).filter((more) => !more);
  t.is(paused.length, 1, "the 16th chunk pauses undici's parser");
  const { res, written } = clientResponse(true);
  forward.watch(res, 1_000);
  const sent = forward.sendTo(res);
  t.is(resumed, 0, "never resumed from inside the call (undici's parser may be running)");
  await new Promise((resolve) => process.nextTick(resolve));
  t.is(resumed, 1);
  forward.onData(Buffer.alloc(64));
  forward.onComplete();
  t.is(await settledWithin(sent, 1_000), "resolved");
  t.is(Buffer.concat(written).length, 17 * 64);
});

test("a held body read as a stream gets every chunk, then its end", async (t) => {
  const { forward } = answered([Buffer.from("a"), Buffer.from("b")], { complete: true });
  const chunks: Buffer[] = [];
  for await (const chunk of forward) chunks.push(chunk as Buffer);
  t.is(Buffer.concat(chunks).toString(), "ab");
});

test("a body being read as a stream whose client goes away ends with the client's error, not the backend's", async (t) => {
  const { forward, upstream } = answered([Buffer.from("{")], { complete: false });
  const { res } = clientResponse(true);
  forward.watch(res, 1_000);
  const failed = new Promise<Error>((resolve) => forward.once("error", resolve));
  forward.resume(); // a reader, as the error-body reader is
  res.destroy();
  t.true((await failed) instanceof ClientGoneError);
  t.true(upstream.aborted instanceof ClientGoneError);
});

test("a send started after the client went away fails at once", async (t) => {
  const { forward } = answered([Buffer.from("{}")], { complete: true });
  const { res } = clientResponse(true);
  res.destroy();
  forward.watch(res, 1_000);
  t.is(await settledWithin(forward.sendTo(res), 1_000), `rejected: ${new ClientGoneError().name}`);
});
