-- One announce to one swarm, atomically (see redis_store/mod.rs for the layout).
-- Every key of the swarm shares the hash tag {<info hash>}, so the swarm lives in one
-- cluster slot and this script may touch all of its keys. The work is bounded by the
-- reply's size and PRUNE, never by the swarm's: no command here reads a whole set.
--
-- KEYS: 1 origins, 2 seeders, 3 leechers, 4 holders (peers per address), all of the
--       announcer's family; 5 origins, 6 seeders, 7 leechers of the other family;
--       8 the swarm's hash (field d: completed downloads).
-- ARGV: 1 member (compact address, 6 or 18 bytes), 2 role (1 origin, 2 seeder,
--       3 leecher), 3 event (0 none, 1 completed, 2 started, 3 stopped), 4 numwant,
--       5 peer timeout ms, 6 most peers in the swarm, 7 most peers of the swarm behind
--       one address, 8 most origins, 9 key lifetime ms, 10 holder prefix length (4:
--       an IPv4 address, 8: an IPv6 /64), 11 PRUNE: most expired peers dropped per set,
--       12 keep ('1': a torrent the access list keeps; its count never expires).
-- Returns {complete, incomplete, downloaded, completed (0/1), not stored (0, 1 torrent
-- full, 2 address limit), origins sent, the peers' compact addresses end to end}.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local role = tonumber(ARGV[2])
local event = tonumber(ARGV[3])
local numwant = tonumber(ARGV[4])
local cutoff = now - tonumber(ARGV[5])
-- Numbers go to redis.call as strings made once: Redis formats a Lua number with
-- printf's %.17g on every call, which cost more than the commands themselves.
local function int(n)
  return string.format('%d', n)
end
local now_s = int(now)
local cutoff_s = int(cutoff)
local max_peers = tonumber(ARGV[6])
local per_address = tonumber(ARGV[7])
local max_origins = tonumber(ARGV[8])
local ttl = ARGV[9]
local holder_len = tonumber(ARGV[10])
local prune = ARGV[11]
local keep = ARGV[12]
local holders = KEYS[4]

local function release(h)
  if redis.call('HINCRBY', holders, h, '-1') <= 0 then
    redis.call('HDEL', holders, h)
  end
end

-- The sets in the order the announcer is most likely found in: its role's first.
local order = { role, role % 3 + 1, (role + 1) % 3 + 1 }

-- Expired peers, a bounded number, from the announcer's role set and one of the other
-- two in turn: what is left is neither counted (ZCOUNT from the cutoff) nor handed out
-- (only the live ranks are), and goes on later announces or with the key's lifetime.
for _, i in ipairs({ order[1], order[2 + now % 2] }) do
  local old = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', '(' .. cutoff_s, 'LIMIT', '0', prune)
  if #old > 0 then
    redis.call('ZREM', KEYS[i], unpack(old))
    for _, m in ipairs(old) do
      release(string.sub(m, 1, holder_len))
    end
  end
end

local was = 0
for _, i in ipairs(order) do
  if redis.call('ZSCORE', KEYS[i], member) then
    was = i
    break
  end
end

local holder = string.sub(member, 1, holder_len)
local completed = 0
local not_stored = 0
if event == 3 then
  if was > 0 then
    redis.call('ZREM', KEYS[was], member)
    release(holder)
  end
else
  -- Origin status is the client's to claim (a peer id prefix): past the first few,
  -- an origin is an ordinary seeder.
  if role == 1 and was ~= 1 and redis.call('ZCARD', KEYS[1]) >= max_origins then
    role = 2
  end
  if was > 0 then
    if was ~= role then
      redis.call('ZREM', KEYS[was], member)
    end
    redis.call('ZADD', KEYS[role], now_s, member)
  else
    local total = 0
    for i = 1, 3 do
      total = total + redis.call('ZCARD', KEYS[i]) + redis.call('ZCARD', KEYS[i + 4])
    end
    local here = tonumber(redis.call('HGET', holders, holder) or '0')
    if role ~= 1 and total >= max_peers then
      not_stored = 1
    elseif role ~= 1 and here >= per_address then
      not_stored = 2
    else
      redis.call('ZADD', KEYS[role], now_s, member)
      redis.call('HINCRBY', holders, holder, '1')
    end
  end
  -- A client may send `completed` again (retries, restarts): only a peer that was not
  -- a seeder counts as a download.
  if event == 1 and role <= 2 and was ~= 1 and was ~= 2 then
    redis.call('HINCRBY', KEYS[8], 'd', '1')
    completed = 1
  end
end

local function live(k)
  return redis.call('ZCOUNT', k, cutoff_s, '+inf')
end
local counts = { live(KEYS[1]), live(KEYS[2]), live(KEYS[3]), 0, 0, 0, 0 }
-- Most swarms never see the other family: one call tells.
if redis.call('EXISTS', KEYS[5], KEYS[6], KEYS[7]) > 0 then
  for i = 5, 7 do
    counts[i] = live(KEYS[i])
  end
end
local complete = counts[1] + counts[2] + counts[5] + counts[6]
local incomplete = counts[3] + counts[7]
local downloaded = tonumber(redis.call('HGET', KEYS[8], 'd') or '0')

-- The reply's peers, of the announcer's family only, never the announcer itself.
local peers = {}
local origins = 0
local want = numwant
if event == 3 then
  want = 0
end
local function room()
  return want - #peers
end
local taken_set = { [member] = true }
-- Up to n live peers of set i: a window of n + 1 at a random place among the live
-- ones, which are the highest ranks (scores are announce times), so no score is read
-- and the cost is O(log N + n) whatever the swarm's size. (A window, as opentracker
-- hands out peers from a random place; math.random differs per call since Redis 7.)
local function pick(i, n)
  local live = counts[i]
  if n <= 0 or live == 0 then
    return
  end
  local first = redis.call('ZCARD', KEYS[i]) - live
  local start = first
  if live > n + 1 then
    start = first + math.random(0, live - n - 1)
  end
  local got = redis.call('ZRANGE', KEYS[i], int(start), int(start + n))
  local taken = 0
  for _, m in ipairs(got) do
    if taken >= n then
      break
    end
    if not taken_set[m] then
      taken_set[m] = true
      peers[#peers + 1] = m
      taken = taken + 1
    end
  end
end

if role == 3 then
  -- A leecher: the origins first, then a sample of seeders and leechers in proportion.
  pick(1, room())
  origins = #peers
  local k = room()
  local s, l = counts[2], counts[3]
  if was == 3 or (event ~= 3 and not_stored == 0) then
    -- The announcer itself is one of the live leechers, and never its own peer.
    l = math.max(l - 1, 0)
  end
  if s + l > 0 and k > 0 then
    local ks = math.floor(k * s / (s + l) + 0.5)
    pick(2, ks)
    pick(3, room())
    pick(2, room())
  end
else
  -- A seeder: leechers first, then origins and other seeders while room is left (a
  -- client that does not know `left` yet announces as a seeder and must find the
  -- origin).
  pick(3, room())
  local before = #peers
  pick(1, room())
  origins = #peers - before
  pick(2, room())
end

-- Lifetimes: the family's three sets and its per-address counts live on together, so
-- a set never expires with members the counts still hold (only pruning releases a
-- peer). The swarm's hash (`downloaded`) lives on, and for a torrent the access list
-- keeps (registered) it never expires, as the in-memory store keeps its count.
for i = 1, 4 do
  redis.call('PEXPIRE', KEYS[i], ttl)
end
if keep == '1' then
  redis.call('PERSIST', KEYS[8])
else
  redis.call('PEXPIRE', KEYS[8], ttl)
end
-- The peers as one string (6 or 18 bytes each): one bulk reply, not one per peer.
return { complete, incomplete, downloaded, completed, not_stored, origins, table.concat(peers) }
