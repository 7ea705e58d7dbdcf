-- Creates a node unless its id is taken, and indexes it, with updatedAt from the server's clock.
--
-- KEYS[1]  the node's hash                 ({<prefix>}:node:<id>)
-- KEYS[2]  set of every node id            ({<prefix>}:all)
-- KEYS[3]  set of the initial state's ids  ({<prefix>}:state:<provisionState>)
-- KEYS[4]  set of ids in maintenance       ({<prefix>}:maintenance)
-- ARGV[1]  id
-- ARGV[2]  provisionState
-- ARGV[3]  targetState: 'null' or '=' .. state
-- ARGV[4]  maintenance: '1' or '0'
-- ARGV[5]  driver
-- ARGV[6]  lastError: 'null' or '=' .. text
--
-- Reply, created: {'created', node} with node as read_node() returns it (fence '0').
-- Reply, refused: {'exists'} when a node has this id; nothing is written.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
local _, now_ms = server_now()
redis.call('HSET', KEYS[1], 'provisionState', ARGV[2], 'maintenance', ARGV[4], 'driver', ARGV[5], 'fence', '0',
  'updatedAt', decimal(now_ms))
write_nullable(KEYS[1], 'targetState', ARGV[3])
write_nullable(KEYS[1], 'lastError', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[4], ARGV[1])
end
return {'created', read_node(KEYS[1])}
