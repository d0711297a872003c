// The one door to ioredis in src/: loading it here also undoes what loading it does to every string in the process.
import { Cluster, Command, Redis } from "ioredis";

export { Cluster, Command, Redis };

/**
 * ioredis 6 declares `class VerbatimString extends String`; V8 then turns String.prototype into a dictionary (it
 * "benefits from normalization" while a prototype is being set up) and leaves it so: V8 makes a prototype fast again
 * only when an inline cache loads through it from an object, never from a string primitive. Every method call on a
 * string anywhere in the process (s.charCodeAt, s.indexOf, s.startsWith, in our code, undici's and Node's) then
 * takes a generic lookup: a 30-character charCodeAt scan took 255 ns instead of 54 ns (node 20, measured with and
 * without this). Loading through a String object, from a function called often enough to keep feedback (V8
 * allocates it lazily, after 8 calls by default), makes the prototype fast again; it is a no-op when it already is.
 * Tested by test/ratelimit/string-prototype.test.ts, which asks V8 itself.
 */
function keepStringMethodsFast(): void {
  const wrapper: object = new String(""); // an object: loads from a primitive leave the prototype as it is
  for (let i = 0; i < 64; i++) loadThrough(wrapper as { charCodeAt?: unknown });
}

function loadThrough(wrapper: { charCodeAt?: unknown }): unknown {
  return wrapper.charCodeAt;
}

keepStringMethodsFast();
