-- The counts of one swarm (see announce.lua for the keys): KEYS 1-3 origins, seeders,
-- leechers of IPv4, 4-6 of IPv6, 7 the swarm's hash; ARGV 1 peer timeout ms.
-- Returns {complete, incomplete, downloaded, known (0/1)}; reads only.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = string.format('%d', now - tonumber(ARGV[1]))
local n = redis.call('HMGET', KEYS[7], 'd', 'x4', 'x6')
local complete, incomplete = 0, 0
-- A family's sets exist only until its lifetime ends (announce.lua).
for f = 0, 1 do
  if tonumber(n[2 + f] or '0') > now then
    local b = 3 * f
    complete = complete + redis.call('ZCOUNT', KEYS[b + 1], cutoff, '+inf')
      + redis.call('ZCOUNT', KEYS[b + 2], cutoff, '+inf')
    incomplete = incomplete + redis.call('ZCOUNT', KEYS[b + 3], cutoff, '+inf')
  end
end
local known = 0
if n[1] or complete + incomplete > 0 then
  known = 1
end
return { complete, incomplete, tonumber(n[1] or '0'), known }
