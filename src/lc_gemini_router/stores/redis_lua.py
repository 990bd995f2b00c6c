"""The Lua scripts :class:`~lc_gemini_router.stores.redis.RedisStore` runs in Redis.

Each script runs atomically in Redis, so every process that shares the server sees
one order of reservations and settlements. Money crosses as integer strings of
:data:`SCALE` units per USD and is added and compared as decimal strings (Lua 5.1
numbers are doubles: exact only to 2**53 units, about $9 at this scale), so the
ledger is as exact as the ``Decimal`` prices.

Budget account ``A`` is three keys: ``b:A`` (hash: ``spent``, ``reserved``), ``h:A``
(hash: hold id -> amount) and ``z:A`` (sorted set: hold id -> expiry). ``reserved``
is always the sum of ``h:A``: a hold is added to both at once, and an expired or
settled one is removed from both at once, so no counter can leak.
"""

from __future__ import annotations

__all__ = ["BREAKER_ALLOW", "BREAKER_FAILURE", "RESERVE", "SCALE", "SETTLE", "STATUS"]

SCALE = 10**15
"""Ledger units per USD: exact for every rate with up to nine decimals per 1M tokens."""

_MONEY = """
local function norm(a)
  a = string.gsub(a, '^0+', '')
  if a == '' then return '0' end
  return a
end
local function cmp(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  if a == b then return 0 end
  if a < b then return -1 end
  return 1
end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local s = carry
    if i > 0 then s = s + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then s = s + string.byte(b, j) - 48; j = j - 1 end
    out[#out + 1] = string.char(48 + s % 10)
    carry = math.floor(s / 10)
  end
  return norm(string.reverse(table.concat(out)))
end
local function sub(a, b)
  if cmp(a, b) <= 0 then return '0' end
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = string.byte(a, i) - 48 - borrow
    if j > 0 then d = d - (string.byte(b, j) - 48); j = j - 1 end
    if d < 0 then d = d + 10; borrow = 1 else borrow = 0 end
    out[#out + 1] = string.char(48 + d)
    i = i - 1
  end
  return norm(string.reverse(table.concat(out)))
end
-- Drop the expired holds of one account; returns its reserved total.
local function reap(b, h, z, now)
  local reserved = redis.call('HGET', b, 'reserved') or '0'
  local stale = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #stale == 0 then return reserved end
  for _, id in ipairs(stale) do
    local amount = redis.call('HGET', h, id)
    if amount then
      reserved = sub(reserved, amount)
      redis.call('HDEL', h, id)
    end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  redis.call('HSET', b, 'reserved', reserved)
  return reserved
end
local function keep_until(b, h, z, at)
  if at ~= '0' then
    redis.call('EXPIREAT', b, at)
    redis.call('EXPIREAT', h, at)
    redis.call('EXPIREAT', z, at)
  end
end
"""

RESERVE = (
    _MONEY
    + """
-- KEYS: b, h, z per account.  ARGV: now, hold expiry, number of holds, then
-- (hold id, amount) per hold, then (limit, keys' expiry or '0') per account.
local now, until_, holds = ARGV[1], ARGV[2], tonumber(ARGV[3])
local accounts = #KEYS / 3
local total = '0'
for k = 1, holds do total = add(total, ARGV[3 + 2 * k]) end
local first = 4 + 2 * holds
local spent, reserved, refused, retried = {}, {}, {}, false
for i = 1, accounts do
  local b, h, z = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  reserved[i] = reap(b, h, z, now)
  spent[i] = redis.call('HGET', b, 'spent') or '0'
  if redis.call('HEXISTS', h, ARGV[first - 2]) == 1 then retried = true end
  local limit = ARGV[first + 2 * (i - 1)]
  if cmp(add(add(spent[i], reserved[i]), total), limit) > 0 then refused[#refused + 1] = i - 1 end
end
if retried then refused = {} end
if #refused == 0 and not retried then
  for i = 1, accounts do
    local b, h, z = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    for k = 1, holds do
      redis.call('HSET', h, ARGV[2 + 2 * k], ARGV[3 + 2 * k])
      redis.call('ZADD', z, until_, ARGV[2 + 2 * k])
    end
    reserved[i] = add(reserved[i], total)
    redis.call('HSET', b, 'reserved', reserved[i])
    keep_until(b, h, z, ARGV[first + 2 * (i - 1) + 1])
  end
end
local out = {#refused}
for _, i in ipairs(refused) do out[#out + 1] = i end
for i = 1, accounts do
  out[#out + 1] = spent[i]
  out[#out + 1] = reserved[i]
end
return out
"""
)

SETTLE = (
    _MONEY
    + """
-- KEYS: settled marker, then b, h, z per account.  ARGV: now, hold id, amount,
-- marker lifetime (s), then the keys' expiry or '0' per account.
local now, id, amount = ARGV[1], ARGV[2], ARGV[3]
local fresh = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4])
local out = {}
for i = 1, (#KEYS - 1) / 3 do
  local b, h, z = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local reserved = reap(b, h, z, now)
  local spent = redis.call('HGET', b, 'spent') or '0'
  if fresh then
    local held = redis.call('HGET', h, id)
    if held then
      reserved = sub(reserved, held)
      redis.call('HDEL', h, id)
      redis.call('ZREM', z, id)
      redis.call('HSET', b, 'reserved', reserved)
    end
    spent = add(spent, amount)
    redis.call('HSET', b, 'spent', spent)
    keep_until(b, h, z, ARGV[4 + i])
  end
  out[#out + 1] = spent
  out[#out + 1] = reserved
end
return out
"""
)

STATUS = (
    _MONEY
    + """
-- KEYS: b, h, z per account.  ARGV: now.
local out = {}
for i = 1, #KEYS / 3 do
  local b, h, z = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local reserved = reap(b, h, z, ARGV[1])
  out[#out + 1] = redis.call('HGET', b, 'spent') or '0'
  out[#out + 1] = reserved
end
return out
"""
)

BREAKER_ALLOW = """
-- KEYS: the breaker's hash.  ARGV: now, cooldown, lifetime (s).
-- Closed: pass. Open: refuse until the cool-down ends, then let one trial through
-- (half-open) and refuse every other caller while it is out.
local now, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2])
local opened = redis.call('HGET', KEYS[1], 'opened_at')
local trial = redis.call('HGET', KEYS[1], 'trial_at')
if trial then
  if now - tonumber(trial) < cooldown then return 0 end
elseif not opened then
  return 1
elseif now - tonumber(opened) < cooldown then
  return 0
end
redis.call('HSET', KEYS[1], 'trial_at', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

BREAKER_FAILURE = """
-- KEYS: the breaker's hash.  ARGV: now, threshold, lifetime (s).
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local trial = redis.call('HGET', KEYS[1], 'trial_at')
if trial or failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'opened_at', ARGV[1])
end
redis.call('HDEL', KEYS[1], 'trial_at')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return failures
"""
