-- Node store helpers, prepended (after src/lock/redis/scripts/lib.lua, for server_now and decimal) to every
-- node script (see ../scripts.ts). Never run on its own.
--
-- A node is a hash whose fields are named like the Node interface's:
--   provisionState  state value, e.g. 'wait call-back'
--   targetState     state value; the field is ABSENT when the target state is null
--   maintenance     '1' or '0'
--   driver          text, possibly ''
--   lastError       text, possibly ''; the field is ABSENT when the last error is null
--   fence           decimal string, '0' until a lease holder writes the node
--   updatedAt       epoch ms of the server's clock (TIME), decimal string
-- Nullable values travel in ARGV as 'null' (clear), '=' .. value (set, '=' alone is the empty string) or, in a
-- transition, 'keep' (leave as is): '=' marks every value, so no text can be mistaken for a marker.

-- The node as stored, in the order the client decodes it; missing fields are false (nil replies).
local function read_node(key)
  return redis.call('HMGET', key, 'provisionState', 'targetState', 'maintenance', 'driver', 'lastError', 'fence',
    'updatedAt')
end

-- Applies a nullable field given as 'null', '=' .. value or 'keep' (anything else is treated as 'keep').
local function write_nullable(key, field, arg)
  if arg == 'null' then
    redis.call('HDEL', key, field)
  elseif string.sub(arg, 1, 1) == '=' then
    redis.call('HSET', key, field, string.sub(arg, 2))
  end
end
