import { createServer, get, type ServerResponse } from "node:http";
import test from "ava";
import { endAtTurnEnd } from "../../../src/plugins/proxy/turn-end.js";
import { closeServer, listen, replyOf } from "../../helpers/servers.js";

// Answers ended at the end of the event-loop turn, over real sockets: every one arrives whole and to its own client,
// and one whose client went away before the turn ended is dropped without harming the others.

async function serve(answer: (path: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => answer(req.url ?? "", res));
  return { server, port: await listen(server) };
}

function fetchBody(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path }, (res) =>
      replyOf(res).then(({ status, body }) => resolve({ status, body }), reject),
    ).on("error", reject);
  });
}

test("answers of one turn all arrive whole, each to its own client, empty ones included", async (t) => {
  let endedAtOnce = 0;
  const { server, port } = await serve((path, res) => {
    const body = path === "/empty" ? undefined : Buffer.from(`answer for ${path}`);
    res.writeHead(200, { "content-length": body?.length ?? 0 });
    endAtTurnEnd(res, body);
    if (res.writableEnded) endedAtOnce++;
  });
  t.teardown(() => closeServer(server));
  const paths = [...Array.from({ length: 40 }, (_, i) => `/r${i}`), "/empty"];
  const replies = await Promise.all(paths.map((path) => fetchBody(port, path)));
  t.deepEqual(
    replies,
    paths.map((path) => ({ status: 200, body: path === "/empty" ? "" : `answer for ${path}` })),
  );
  t.is(endedAtOnce, 0, "an answer was ended where it was handed over, not at the end of the turn");
});

test("an answer whose connection is gone before the turn ends is dropped; the others are sent", async (t) => {
  let gone: ServerResponse | undefined;
  const { server, port } = await serve((path, res) => {
    const body = Buffer.from(`answer for ${path}`);
    res.writeHead(200, { "content-length": body.length });
    endAtTurnEnd(res, body);
    if (path === "/gone") {
      gone = res;
      res.destroy(); // as the client's going away does, between the backend's answer and the end of the turn
    }
  });
  t.teardown(() => closeServer(server));
  const [first, dropped, last] = await Promise.allSettled([
    fetchBody(port, "/a"),
    fetchBody(port, "/gone"),
    fetchBody(port, "/b"),
  ]);
  t.deepEqual(first, { status: "fulfilled", value: { status: 200, body: "answer for /a" } });
  t.deepEqual(last, { status: "fulfilled", value: { status: 200, body: "answer for /b" } });
  t.is(dropped.status, "rejected", "the client of the dropped answer sees its connection end without an answer");
  t.false(gone?.writableEnded, "the destroyed response was not ended (nor written to)");
});
