-- Atomic token bucket shared by every process through Redis (E-08).
-- KEYS[1]: bucket key.  ARGV: capacity, refill tokens per ms (0 = a pure counter), cost (negative
-- releases tokens), ttl ms (0 = no expiry).  Time comes from the Redis server so all clients agree.
-- Returns {allowed (0/1), wait ms until the cost fits (-1 = never), tokens left as a string}.
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = cap
  ts = now
end
if rate > 0 and now > ts then
  tokens = math.min(cap, tokens + (now - ts) * rate)
end
local allowed = 0
local wait = 0
if cost <= 0 then
  tokens = math.min(cap, tokens - cost)
  allowed = 1
elseif tokens >= cost then
  tokens = tokens - cost
  allowed = 1
elseif rate > 0 then
  wait = math.ceil((cost - tokens) / rate)
else
  wait = -1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {allowed, wait, tostring(tokens)}
