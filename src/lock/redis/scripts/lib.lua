-- Shared helpers, prepended to every script that needs them (see scripts.ts). Never run on its own.
--
-- A resource's record lives in the shard's `meta` hash as a JSON array:
--   held or orphaned: [fence, owner, acquiredAtMs, purpose]
--   released:         [fence]
-- Fences are kept as decimal strings: they exceed the 14 significant digits cjson and tostring() print.

-- The server's clock, in whole microseconds and milliseconds. Never the client's clock.
local function server_now()
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  return us, math.floor(us / 1000)
end

local function decimal(n)
  return string.format('%.0f', n)
end
