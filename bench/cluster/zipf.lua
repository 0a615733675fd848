-- wrk script of the 3-node cluster benchmark (bench/cluster_bench.ts):
-- spreads a Zipf (s = 1) mix of GET /get?key=key-N, N in 0..KEYS-1, over
-- the nodes of a cluster on 127.0.0.1.
--
--   CLUSTER_PORTS=P1,P2,P3 [ZIPF_KEYS=10000] \
--     wrk -t3 -c96 -d5s -s bench/cluster/zipf.lua http://127.0.0.1:P1
--
-- wrk gives each thread one address: thread i talks to node i mod #nodes
-- (with -c spread evenly over the threads), so -t3 drives each node with a
-- third of the connections. Each thread draws its own sequence (seeded by
-- its number, so runs repeat) once, in init, as ready-made requests, and
-- request() only cycles through them: the load generator's cost per request
-- is the same small constant for every cluster.
--
-- COLD=1: the cold workload instead: every request asks a key never asked
-- before (key c<thread>-<n>, n counting from 1; COLD_PREFIX=x for x<thread>-<n>), so each one is a first
-- load somewhere in the cluster: a miss on the node asked, then a peer
-- fetch and a load on the owner, or a load on the node asked when it owns
-- the key. The request is formatted per call (a few string ops, the same
-- for every cluster).

local ports = {}
for p in string.gmatch(os.getenv("CLUSTER_PORTS") or "", "%d+") do
  ports[#ports + 1] = p
end
local keys = tonumber(os.getenv("ZIPF_KEYS") or "10000")
local cold = os.getenv("COLD") == "1"
local prefix = os.getenv("COLD_PREFIX") or "c"
local SEQUENCE = 65536

local threads = 0
function setup(thread)
  if #ports == 0 then error("zipf.lua needs CLUSTER_PORTS=P1,P2,...") end
  local port = ports[threads % #ports + 1]
  thread.addr = wrk.lookup("127.0.0.1", port)[1]
  thread:set("id", threads)
  thread:set("port", port)
  threads = threads + 1
end

local requests, at = {}, 0

function init(args)
  wrk.headers["Host"] = "127.0.0.1:" .. port
  if cold then return end
  -- mulberry32 would need 32-bit integer ops; LuaJIT's math.random is a
  -- seeded Tausworthe generator, deterministic for a given seed.
  math.randomseed(1000 + id)
  local cdf, sum = {}, 0
  for i = 1, keys do
    sum = sum + 1 / i
    cdf[i] = sum
  end
  for r = 1, SEQUENCE do
    local x = math.random() * sum
    local lo, hi = 1, keys
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < x then lo = mid + 1 else hi = mid end
    end
    requests[r] = wrk.format("GET", "/get?key=key-" .. (lo - 1))
  end
end

function request()
  at = at + 1
  if cold then return wrk.format("GET", "/get?key=" .. prefix .. id .. "-" .. at) end
  if at > SEQUENCE then at = 1 end
  return requests[at]
end
