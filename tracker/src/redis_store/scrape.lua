-- The counts of one swarm (see announce.lua for the keys): KEYS 1-3 origins, seeders,
-- leechers of IPv4, 4-6 of IPv6, 7 the swarm's hash; ARGV 1 peer timeout ms.
-- Returns {complete, incomplete, downloaded, known (0/1)}; reads only.
local t = redis.call('TIME')
local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local function live(k)
  return redis.call('ZCOUNT', k, cutoff, '+inf')
end
local complete = live(KEYS[1]) + live(KEYS[2]) + live(KEYS[4]) + live(KEYS[5])
local incomplete = live(KEYS[3]) + live(KEYS[6])
local d = redis.call('HGET', KEYS[7], 'd')
local known = 0
if d or complete + incomplete > 0 then
  known = 1
end
return { complete, incomplete, tonumber(d or '0'), known }
