import test from "ava";
import { normalizeBackendError } from "../../src/errors/normalize.js";

const cases: Array<{ desc: string; status: number; type?: string; body?: string; errors: string[]; passed?: boolean }> =
  [
    {
      desc: "an errors body is kept byte for byte",
      status: 400,
      type: "application/json",
      body: '{"errors":["missing value"]}',
      errors: ["missing value"],
      passed: true,
    },
    {
      desc: "Vault's empty errors array gets the status message",
      status: 404,
      type: "application/json",
      body: '{"errors":[]}',
      errors: ["not found"],
    },
    {
      desc: "a JSON error field is wrapped",
      status: 400,
      type: "application/json",
      body: '{"error":"bad field"}',
      errors: ["bad field"],
    },
    {
      desc: "a JSON message field is wrapped",
      status: 500,
      type: "application/json",
      body: '{"message":"db down"}',
      errors: ["db down"],
    },
    {
      desc: "short plain text is wrapped",
      status: 400,
      type: "text/plain",
      body: "invalid request\n",
      errors: ["invalid request"],
    },
    {
      desc: "an HTML page becomes the status message",
      status: 502,
      type: "text/html",
      body: "<html><h1>502 Bad Gateway</h1></html>",
      errors: ["bad gateway"],
    },
    { desc: "an empty body becomes the status message", status: 500, errors: ["internal server error"] },
    {
      desc: "a stack trace is never passed on",
      status: 500,
      type: "text/plain",
      body: "TypeError: x is undefined\n    at f (/srv/app.js:10:5)\n    at g (/srv/app.js:20:3)",
      errors: ["internal server error"],
    },
    {
      desc: "a stack trace inside a JSON message is never passed on",
      status: 500,
      type: "application/json",
      body: '{"message":"boom\\n    at f (/srv/app.js:1:1)"}',
      errors: ["internal server error"],
    },
    {
      desc: "broken JSON becomes the status message",
      status: 503,
      type: "application/json",
      body: '{"errors": [',
      errors: ["service unavailable"],
    },
    {
      desc: "an errors array of non-strings is rebuilt",
      status: 400,
      type: "application/json",
      body: '{"errors":[1,{"a":2},"kept"]}',
      errors: ["kept"],
    },
    {
      desc: "an errors body with extra fields is rebuilt without them",
      status: 500,
      type: "application/json",
      body: '{"errors":["boom"],"stack":"at x (/a.js:1:1)","token":"hvs.SECRET"}',
      errors: ["boom"],
    },
    {
      desc: "Vault's multi-line error keeps its reasons",
      status: 400,
      type: "application/json",
      body: '{"errors":["2 errors occurred:\\n\\t* invalid username or password\\n\\t* try again\\n\\n"]}',
      errors: ["invalid username or password; try again"],
    },
  ];

for (const c of cases) {
  test(`backend error: ${c.desc}`, (t) => {
    const result = normalizeBackendError(c.status, c.type, c.body === undefined ? undefined : Buffer.from(c.body));
    t.deepEqual(JSON.parse(result.body.toString()), { errors: c.errors });
    t.is(result.passedThrough, c.passed === true);
    if (c.passed) t.is(result.body.toString(), c.body ?? "");
  });
}
