-- pairs.lua: wrk script of the benchmark (bench/bench.py writes the pairs file).
--
--   wrk -s bench/pairs.lua URL -- PAIRS_FILE
--
-- PAIRS_FILE has one request per line: "<path and query>\t<token>", every pair
-- authorized. Each request takes a uniformly random line, so with the whole
-- course table in the file every request is for a course the worker has not
-- just seen (misses); with the hot file a few courses are polled by many users
-- (hits). done() prints one JSON line that bench.py reads.

local lines = {}
local n = 0
local thread_no = 0
local threads = {}

function setup(thread)
   thread_no = thread_no + 1
   thread:set("id", thread_no)
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(args[1], "r"))
   for line in f:lines() do
      local path, token = line:match("^([^\t]+)\t(.+)$")
      if path then
         n = n + 1
         lines[n] = { path, { ["Authorization"] = "Bearer " .. token } }
      end
   end
   f:close()
   assert(n > 0, "no pairs in " .. args[1])
   math.randomseed(os.time() * 1000 + (id or 0) * 7919 + math.floor(os.clock() * 1e6))
end

function request()
   local p = lines[math.random(n)]
   return wrk.format("GET", p[1], p[2])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
      '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read,
      e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
