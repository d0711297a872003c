/**
 * Help for every path the development store serves, written for people reading `?help=1` answers: what the path
 * does, its methods, its parameters, and what the gateway adds. Patterns as in registry.ts, relative to /v1/.
 */
const lines = (...text: string[]): string => text.join("\n");

export const BUILTIN_HELP: Readonly<Record<string, string>> = {
  "sys/health": lines(
    "Reports whether the store is initialized, sealed and serving.",
    "",
    "GET: answers {initialized, sealed, standby, version, server_time_utc}.",
    "Status 200 when unsealed and active, 503 when sealed, 501 when not initialized.",
    "No token is needed, so load balancers and monitors can call it.",
  ),
  "sys/seal-status": lines(
    "Shows the seal state and the progress of an unseal.",
    "",
    "GET: answers {sealed, t (key shares needed), n (key shares issued), progress, version}.",
    "No token is needed: it works while the store is sealed.",
  ),
  "sys/seal": lines(
    "Seals the store: it drops its master key from memory and refuses every request but unseal until unsealed.",
    "",
    "PUT or POST, no body. Needs a token allowed 'sudo' on sys/seal (root). Answers 204.",
  ),
  "sys/unseal": lines(
    "Submits one unseal key share; once t shares are in, the store unseals.",
    "",
    'PUT or POST {"key": "<key share>"}, or {"reset": true} to discard the shares given so far.',
    "Answers the seal status ({sealed, t, n, progress}). No token is needed: a sealed store has none to check.",
  ),
  "auth/token/lookup-self": lines(
    "Describes the token that makes the request.",
    "",
    "GET: answers {data: {accessor, policies, ttl (seconds left, 0 = never expires), creation_time,",
    "expire_time, display_name, renewable, meta}}. The token itself is not repeated in the answer.",
  ),
  "auth/token/create": lines(
    "Creates a child token of the calling token; revoking the parent revokes the child.",
    "",
    "POST with optional parameters:",
    "  policies      list of policy names; a subset of the caller's own unless the caller is root",
    '  ttl           lifetime, e.g. "30m", "24h"; 0 or absent: the default lifetime',
    "  display_name  a label shown by lookup-self",
    "  meta          map of string metadata",
    "  no_parent     true for an orphan token (root only)",
    "Answers {auth: {client_token, accessor, policies, lease_duration, renewable}}.",
  ),
  "auth/token/revoke-self": lines(
    "Revokes the token that makes the request, and every token created from it.",
    "",
    "POST, no body. Answers 204. The gateway forgets the token at once and clears the token cookie.",
  ),
  "sys/capabilities-self": lines(
    "Tells what the calling token may do on the given paths.",
    "",
    'POST {"paths": ["secret/foo", ...]}: answers, per path, a list of capabilities among',
    'create, read, update, delete, list, sudo, root, or ["deny"] when nothing is allowed.',
  ),
  "sys/policy": lines("Lists the names of all policies.", "", "GET: answers {policies: [names]}."),
  "sys/policy/*": lines(
    "Reads, writes or deletes the named policy.",
    "",
    "GET: answers {name, rules}.",
    'PUT or POST {"policy": "<rules>"}: creates or replaces it. The rules name paths and their capabilities',
    "(create, read, update, delete, list, sudo, deny), in the JSON form of the policy language, e.g.",
    '{"path": {"secret/app/*": {"capabilities": ["read", "list"]}}}. Answers 204.',
    'DELETE: removes it; "root" and "default" cannot be removed. Answers 204.',
  ),
  "auth/userpass/users": lines(
    "Lists the userpass users.",
    "",
    "GET with ?list=true: answers {data: {keys: [names]}}.",
  ),
  "auth/userpass/users/*": lines(
    "Manages the named userpass user.",
    "",
    'POST {"password": "...", "policies": [...], "ttl": "1h"}: creates or updates the user. Answers 204.',
    "GET: answers the user's policies and ttl (never the password).",
    "DELETE: removes the user; tokens already issued stay valid until they expire. Answers 204.",
  ),
  "auth/userpass/login/*": lines(
    "Logs in as the named userpass user and returns a new token.",
    "",
    'POST {"password": "..."}: answers {auth: {client_token, policies, lease_duration}}.',
    "No token is needed. The gateway also sets the token cookie (HttpOnly, Secure, SameSite=Strict,",
    "Path=/v1/, Max-Age = lease_duration), so a browser sends it on later requests.",
  ),
  "secret/**": lines(
    "Key/value secrets: each path holds one JSON object.",
    "",
    "GET: answers {data: {...}, lease_duration}.",
    'POST or PUT with a JSON object body, e.g. {"value": "bar"}: replaces the whole object. Answers 204.',
    "DELETE: removes it. Answers 204.",
    'GET with ?list=true on a folder path: answers {data: {keys: [...]}}; sub-folders end in "/".',
  ),
};
