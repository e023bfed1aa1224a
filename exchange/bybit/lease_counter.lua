-- A counter of held resources shared by every process through Redis (E-08: ws subscriptions), where each
-- holder's share is a lease: a holder that dies without releasing (kill -9) frees its share when the lease
-- runs out instead of leaking it.
-- KEYS[1]: sorted set holder -> lease expiry (ms); KEYS[2]: hash holder -> cost.
-- ARGV: op ('acquire' | 'renew' | 'release'), holder, cost, capacity, lease ms.
-- Time comes from the Redis server so all clients agree.
-- Returns {ok (0/1), units held by everyone after the call}.
local op = ARGV[1]
local holder = ARGV[2]
local cost = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, gone in ipairs(expired) do
  redis.call('HDEL', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local function used()
  local total = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
    total = total + tonumber(v)
  end
  return total
end
local ok = 1
if op == 'acquire' then
  local mine = tonumber(redis.call('HGET', KEYS[2], holder) or '0')
  if used() - mine + cost > cap then
    ok = 0
  else
    redis.call('HSET', KEYS[2], holder, tostring(cost))
    redis.call('ZADD', KEYS[1], now + lease, holder)
  end
elseif op == 'renew' then
  if redis.call('ZSCORE', KEYS[1], holder) then
    redis.call('ZADD', KEYS[1], now + lease, holder)
  else
    ok = 0
  end
else
  redis.call('ZREM', KEYS[1], holder)
  redis.call('HDEL', KEYS[2], holder)
end
-- the structures outlive their last lease by one lease at most
redis.call('PEXPIRE', KEYS[1], 2 * lease)
redis.call('PEXPIRE', KEYS[2], 2 * lease)
return {ok, used()}
