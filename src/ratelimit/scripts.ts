// The Lua run by RedisLimiter, through LuaScript (lua.ts): EVALSHA, and on NOSCRIPT (a restarted, flushed or
// failed-over server) the body once more with EVAL, so no SCRIPT LOAD bookkeeping lives here.
// A script runs atomically: no other command runs between its reads and its writes, which is what makes the
// "all rules or none" rule and the count exact across any number of gateways.

/**
 * Checks every rule of each of a batch of requests, and counts a request's rules only if all of them admit it
 * (GCRA, see gcra.ts). The requests are decided one after the other, so two of them on one key see each other
 * exactly as two scripts would; batching only saves round trips and commands (see batch.ts).
 *
 * Arguments and reply are packed into a few strings: a batch of a dozen requests as one argument per number and
 * one RESP integer per number in the reply cost the gateway more CPU (ioredis encodes and decodes each) than the
 * rest of the rate limit together; Lua splits the strings for a few microseconds of Redis time.
 *
 * KEYS[i]        the state key of rule i (holds its TAT in microseconds, or is absent when the rule is rested)
 * ARGV[1]        the number of keys of each request, comma-separated ("1,1,2"); the keys of request r follow
 *                those of request r - 1 in KEYS
 * ARGV[2]        T and burst * T of each key, in microseconds, comma-separated ("T_1,C_1,T_2,C_2,...")
 * returns        "now admitted d_1 ... d_n": now in microseconds; admitted one character per request ("1" or "0");
 *                d_i = TAT_i - now for each key, its TAT as left by the script (raised to now when the key was
 *                absent or stale; plus T when admitted), from which the caller derives remaining and delays
 */
export const TAKE_LUA = `
-- 1. The clock is the server's, never a gateway's: gateways with skewed clocks still agree on every key.
--    TIME is allowed before writes since Redis 5 (scripts replicate their effects, not their body).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local counts = {}
for count in string.gmatch(ARGV[1], '[^,]+') do counts[#counts + 1] = tonumber(count) end
local rates = {}
for rate in string.gmatch(ARGV[2], '[^,]+') do rates[#rates + 1] = tonumber(rate) end
local admissions = {}
local tats = {}
local last = 0

for r = 1, #counts do
  local first = last + 1
  last = last + counts[r]
  -- 2. Read every rule's TAT; a missing or past TAT means "rested", the same as now.
  --    A rule conforms if one more emission interval still fits in its capacity.
  local admitted = '1'
  for i = first, last do
    local tat = tonumber(redis.call('GET', KEYS[i])) or now
    if tat < now then tat = now end
    tats[i] = tat
    if tat + rates[2 * i - 1] - now > rates[2 * i] then admitted = '0' end
  end
  -- 3. Only if every rule conforms, count the request in all of them: one denial consumes nothing anywhere.
  --    The key expires exactly when its TAT passes: from then on absent and rested are the same state,
  --    so idle clients cost no memory. '%.0f' writes the integer without Lua's 14-digit rounding.
  if admitted == '1' then
    for i = first, last do
      local tat = tats[i] + rates[2 * i - 1]
      redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
      tats[i] = tat
    end
  end
  admissions[r] = admitted
end

-- 4. Integers in microseconds (now about 2^51): exact in Lua doubles, written out whole by '%.0f'.
local reply = { string.format('%.0f', now), table.concat(admissions) }
for i = 1, last do reply[2 + i] = string.format('%.0f', tats[i] - now) end
return table.concat(reply, ' ')
`;

/**
 * Gives back one request counted by TAKE_LUA, used on Redis Cluster only: when a request's keys span several slots
 * it takes one script per slot, and if one slot denies, the slots that admitted it return their share.
 *
 * KEYS[i]        a state key that TAKE_LUA counted
 * ARGV[i]        T of that rule, in microseconds
 * returns        the number of keys given back
 */
export const REFUND_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local refunded = 0
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]))
  -- 1. A key already expired has nothing left to give back.
  if tat then
    -- 2. Move the TAT back by the one interval the request took; other requests' intervals stay.
    tat = tat - tonumber(ARGV[i])
    if tat <= now then
      -- 3. Nothing pending any more: the rested state is the absent key.
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
    end
    refunded = refunded + 1
  end
end
return refunded
`;
