import { Socket } from "node:net";
import test from "ava";
import { ConnectionTokenIds, createTokenHasher } from "../../../src/plugins/auth/token-id.js";

function counted() {
  const hash = createTokenHasher("k".repeat(32));
  let calls = 0;
  const ids = new ConnectionTokenIds((token) => {
    calls++;
    return hash(token);
  });
  return { ids, hash, calls: () => calls };
}

test("a connection repeating its token is hashed once; each id is the token's keyed hash", (t) => {
  const { ids, hash, calls } = counted();
  const socket = new Socket();
  for (let i = 0; i < 5; i++) t.is(ids.idOf(socket, "hvs.first"), hash("hvs.first"));
  t.is(calls(), 1);
});

test("another token on the same connection, or the same token on another, gets its own hash", (t) => {
  const { ids, hash, calls } = counted();
  const one = new Socket();
  const two = new Socket();
  t.is(ids.idOf(one, "hvs.first"), hash("hvs.first"));
  t.is(ids.idOf(one, "hvs.second"), hash("hvs.second")); // behind a load balancer, clients share connections
  t.is(ids.idOf(one, "hvs.first"), hash("hvs.first")); // only the last token is remembered
  t.is(ids.idOf(two, "hvs.first"), hash("hvs.first"));
  t.is(ids.idOf(one, "hvs.firsT"), hash("hvs.firsT")); // same length, one byte apart
  t.is(calls(), 5);
});
