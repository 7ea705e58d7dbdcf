-- A fenced compare-and-set transition: moves a node from one of the expected states to a new one and stores the
-- writer's fence, if and only if the node is in one of those states and its stored fence is <= the writer's.
--
-- KEYS[1]       the node's hash                  ({<prefix>}:node:<id>)
-- KEYS[2]       set of ids in maintenance        ({<prefix>}:maintenance)
-- KEYS[3]       set of the `to` state's ids      ({<prefix>}:state:<to>)
-- KEYS[4..n+3]  sets of the n `from` states' ids, in the order of ARGV[7..n+6]
-- ARGV[1]       id
-- ARGV[2]       the writer's fence (decimal string, a safe integer >= 1)
-- ARGV[3]       to: the new provisionState
-- ARGV[4]       targetState: 'keep', 'null' or '=' .. state
-- ARGV[5]       lastError: 'keep', 'null' or '=' .. text
-- ARGV[6]       maintenance: 'keep', '1' or '0'
-- ARGV[7..n+6]  from: the n states the writer expects (distinct)
--
-- Reply, applied: {'applied', node} with node as read_node() returns it after the write.
-- Reply, refused (nothing written):
--   {'missing'}                              no node has this id
--   {'stale', provisionState, storedFence}   the stored fence is higher than the writer's (checked first)
--   {'state', provisionState, storedFence}   the node is in none of the `from` states
-- Every key the script can touch is declared: the node's current state set is one of the `from` sets whenever
-- the write applies. updatedAt comes from the server's clock.

local key = KEYS[1]
local current = redis.call('HMGET', key, 'provisionState', 'fence')
local state, stored = current[1], current[2]
if not state then
  return {'missing'}
end
if tonumber(stored) > tonumber(ARGV[2]) then
  return {'stale', state, stored}
end
local from_key = false
for i = 7, #ARGV do
  if ARGV[i] == state then
    from_key = KEYS[i - 3]
    break
  end
end
if not from_key then
  return {'state', state, stored}
end

local _, now_ms = server_now()
local to = ARGV[3]
redis.call('HSET', key, 'provisionState', to, 'fence', ARGV[2], 'updatedAt', decimal(now_ms))
write_nullable(key, 'targetState', ARGV[4])
write_nullable(key, 'lastError', ARGV[5])
if ARGV[6] == '1' then
  redis.call('HSET', key, 'maintenance', '1')
  redis.call('SADD', KEYS[2], ARGV[1])
elseif ARGV[6] == '0' then
  redis.call('HSET', key, 'maintenance', '0')
  redis.call('SREM', KEYS[2], ARGV[1])
end
if state ~= to then
  redis.call('SREM', from_key, ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[1])
end
return {'applied', read_node(key)}
