-- Shared helpers, prepended to every script that needs them (see scripts.ts). Never run on its own.
--
-- A resource's record lives in the shard's `meta` hash; it names the last holder and stays after release:
--   "<fence>\t<acquiredAt offset>\t<owner length in bytes>\t<owner><purpose>"
-- acquiredAt offset = acquiredAtMs - floor(fence / 1000): 0 whenever the fence is the server's time in us (almost
-- always), so the record does not spend 13 more bytes per resource on a second timestamp.
-- Plain string operations, no cjson: the acquire path is hot. Fences are decimal strings (they exceed the 14
-- significant digits tostring() prints). A record is an orphan's when the resource is still in `held` but its
-- lock key is gone.

-- The server's clock, in whole microseconds and milliseconds. Never the client's clock.
local function server_now()
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  return us, math.floor(us / 1000)
end

local function decimal(n)
  return string.format('%.0f', n)
end

-- The record's acquiredAt offset for a lease acquired at server ms `at_ms` with fence `fence` (a number).
local function at_offset(at_ms, fence)
  return decimal(at_ms - math.floor(fence / 1000))
end
