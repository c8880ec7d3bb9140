-- One announce to one swarm, atomically (see redis_store/mod.rs for the layout).
-- Every key of the swarm shares the hash tag {<info hash>}, so the swarm lives in one
-- cluster slot and this script may touch all of its keys. The work is bounded by the
-- reply's size and PRUNE, never by the swarm's: no command here reads a whole set.
-- Every redis.call costs about half a microsecond of glue beyond its own work, more
-- than most of these commands: a re-announce, the common case, makes nine.
--
-- KEYS: 1 origins, 2 seeders, 3 leechers, 4 holders (peers per address), all of the
--       announcer's family; 5 origins, 6 seeders, 7 leechers of the other family;
--       8 the swarm's hash (field d: completed downloads; x4, x6: when each family's
--       keys expire, in ms of Redis's clock; k: the last `keep` seen).
-- ARGV: 1 member (compact address, 6 or 18 bytes), 2 role (1 origin, 2 seeder,
--       3 leecher), 3 event (0 none, 1 completed, 2 started, 3 stopped), 4 numwant,
--       5 peer timeout ms, 6 most peers in the swarm, 7 most peers of the swarm behind
--       one address, 8 most origins, 9 key lifetime ms, 10 holder prefix length (4:
--       an IPv4 address, 8: an IPv6 /64), 11 PRUNE: most expired peers dropped,
--       12 keep ('1': a torrent the access list keeps; its count never expires),
--       13 the announcer's family ('4' or '6').
-- Returns {complete, incomplete, downloaded, completed (0/1), not stored (0, 1 torrent
-- full, 2 address limit), origins sent, the peers' compact addresses end to end}.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local role = tonumber(ARGV[2])
local event = tonumber(ARGV[3])
local numwant = tonumber(ARGV[4])
local timeout = tonumber(ARGV[5])
local cutoff = now - timeout
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
local ttl = tonumber(ARGV[9])
local holder_len = tonumber(ARGV[10])
local prune = ARGV[11]
local keep = ARGV[12]
local own_x = 'x' .. ARGV[13]
local other_x = ARGV[13] == '4' and 'x6' or 'x4'
local holders = KEYS[4]
local holder = string.sub(member, 1, holder_len)

local function release(h)
  if redis.call('HINCRBY', holders, h, '-1') <= 0 then
    redis.call('HDEL', holders, h)
  end
end

-- Expired peers, a bounded number, from one of the family's three sets in turn: what is
-- left is neither counted (ZCOUNT from the cutoff) nor handed out (only the live ranks
-- are), and goes on later announces or with the keys' lifetime.
local stale = KEYS[1 + now % 3]
local old = redis.call('ZRANGEBYSCORE', stale, '-inf', '(' .. cutoff_s, 'LIMIT', '0', prune)
if #old > 0 then
  redis.call('ZREM', stale, unpack(old))
  for _, m in ipairs(old) do
    release(string.sub(m, 1, holder_len))
  end
end

-- The sets in the order the announcer is most likely found in: its role's first.
local order = { role, role % 3 + 1, (role + 1) % 3 + 1 }
local was = 0
-- Whether a set gained a member: it may be new, and then has no lifetime yet.
local added = false
local completed = 0
local not_stored = 0
if event == 3 then
  for _, i in ipairs(order) do
    if redis.call('ZREM', KEYS[i], member) == 1 then
      was = i
      release(holder)
      break
    end
  end
elseif redis.call('ZADD', KEYS[role], 'XX', 'CH', now_s, member) == 1 then
  -- A re-announce in the same role: one command. (CH counts a changed score, so an
  -- announce in the same millisecond as the last falls through to the lookup below.)
  was = role
else
  for _, i in ipairs(order) do
    if redis.call('ZSCORE', KEYS[i], member) then
      was = i
      break
    end
  end
  -- Origin status is the client's to claim (a peer id prefix): past the first few,
  -- an origin is an ordinary seeder.
  if role == 1 and was ~= 1 and redis.call('ZCARD', KEYS[1]) >= max_origins then
    role = 2
  end
  if was > 0 then
    if was ~= role then
      redis.call('ZREM', KEYS[was], member)
      added = true
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
      added = true
    end
  end
end
-- A client may send `completed` again (retries, restarts): only a peer that was not
-- a seeder counts as a download.
if event == 1 and role <= 2 and was ~= 1 and was ~= 2 then
  redis.call('HINCRBY', KEYS[8], 'd', '1')
  completed = 1
end

local n = redis.call('HMGET', KEYS[8], 'd', own_x, other_x, 'k')
local downloaded = tonumber(n[1] or '0')
local own_until = tonumber(n[2] or '0')
local other_until = tonumber(n[3] or '0')

-- Lifetimes: the family's three sets and its per-address counts expire together (at
-- x4 or x6 in the swarm's hash), so a set never expires with members the counts still
-- hold (only pruning releases a peer), and the swarm's hash no sooner than the later
-- family. They are set when a set gains a member (it may have just been created), when
-- the access list's hold on the torrent changed, and otherwise once less than a
-- lifetime less half a timeout is left: a key then always outlives the last announce of
-- any of its live peers by more than a timeout. A lifetime is only ever lengthened, so
-- instances that disagree on the timeout cannot cut one short. For a torrent the access
-- list keeps (registered) the hash never expires, as the in-memory store keeps its
-- count.
if added or (n[4] or '0') ~= keep or own_until - now < ttl - timeout / 2 then
  own_until = math.max(own_until, now + ttl)
  local at = int(own_until)
  for i = 1, 4 do
    redis.call('PEXPIREAT', KEYS[i], at)
  end
  redis.call('HSET', KEYS[8], own_x, at, 'k', keep)
  if keep == '1' then
    redis.call('PERSIST', KEYS[8])
  else
    redis.call('PEXPIREAT', KEYS[8], int(math.max(own_until, other_until)))
  end
end

local function live(k)
  return redis.call('ZCOUNT', k, cutoff_s, '+inf')
end
local counts = { live(KEYS[1]), live(KEYS[2]), live(KEYS[3]), 0, 0, 0, 0 }
-- The other family's sets exist only until its lifetime: most swarms never see the
-- other family, and then no command asks.
if other_until > now then
  for i = 5, 7 do
    counts[i] = live(KEYS[i])
  end
end
local complete = counts[1] + counts[2] + counts[5] + counts[6]
local incomplete = counts[3] + counts[7]

-- The reply's peers, of the announcer's family only, never the announcer itself: a
-- window of live members from each set, sized first, each member's bytes joined into
-- one string. Every member a command hands to Lua costs about 160 ns, the bulk of this
-- script's time at numwant 50, so no member is touched one by one in Lua.
local want = numwant
if event == 3 then
  want = 0
end
-- The announcer is one of the live members of its role's set, unless it stopped or
-- was not stored.
local own = 0
if event ~= 3 and not_stored == 0 then
  own = role
end
local function avail(i)
  if i == own then
    return math.max(counts[i] - 1, 0)
  end
  return counts[i]
end
-- k live members of set i (k <= avail(i)), as their bytes end to end: a window of k
-- (one more in the announcer's own set, which is cut out) at a random place among the
-- live members, which are the highest ranks (scores are announce times), counted from
-- the end so that neither a score nor the set's size is read, and the cost is
-- O(log N + k) whatever the swarm's size. (A window, as opentracker hands out peers
-- from a random place; math.random differs per call since Redis 7.)
local size = #member
local function pick(i, k)
  local live = counts[i]
  local extra = 0
  if i == own then
    extra = 1
  end
  if k <= 0 or live == 0 then
    return ''
  end
  local start = -live
  if live > k + extra then
    start = start + math.random(0, live - k - extra)
  end
  local blob = table.concat(redis.call('ZRANGE', KEYS[i], int(start), int(math.min(start + k + extra - 1, -1))))
  if extra == 1 then
    -- Cut the announcer out: a match at a member's boundary (one elsewhere spans two).
    local at = string.find(blob, member, 1, true)
    while at and (at - 1) % size ~= 0 do
      at = string.find(blob, member, at + 1, true)
    end
    if at then
      blob = string.sub(blob, 1, at - 1) .. string.sub(blob, at + size)
    end
  end
  return string.sub(blob, 1, k * size)
end

local o = math.min(avail(1), want)
local rest = want - o
local s, l = avail(2), avail(3)
local ks, kl
local parts
if role == 3 then
  -- A leecher: the origins first, then a sample of seeders and leechers in proportion.
  ks = 0
  if s + l > 0 then
    ks = math.floor(rest * s / (s + l) + 0.5)
  end
  ks = math.min(ks, s)
  kl = math.min(rest - ks, l)
  ks = math.min(rest - kl, s)
  parts = { pick(1, o), pick(2, ks), pick(3, kl) }
else
  -- A seeder: leechers first, then origins and other seeders while room is left (a
  -- client that does not know `left` yet announces as a seeder and must find the
  -- origin).
  kl = math.min(want, l)
  o = math.min(want - kl, avail(1))
  ks = math.min(want - kl - o, s)
  parts = { pick(3, kl), pick(1, o), pick(2, ks) }
end
-- The peers as one string (6 or 18 bytes each): one bulk reply, not one per peer.
return { complete, incomplete, downloaded, completed, not_stored, o, table.concat(parts) }
