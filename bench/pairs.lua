-- pairs.lua: wrk script of the benchmark (bench/bench.py writes its files).
--
--   wrk -s bench/pairs.lua URL -- TOKENS PAIRS PREFIX SUFFIX
--
-- TOKENS has one bearer token per line. PAIRS holds fixed-width records
-- "<course uuid> <6-digit token line, from 0>\n", every pair authorized. Each
-- request takes a uniformly random record and asks PREFIX .. course .. SUFFIX
-- with that token: with the whole course table in the file, every request is
-- for a course the worker has not just seen (misses); with the hot file a few
-- courses are polled by many users (hits). done() prints one JSON line that
-- bench.py reads.
--
-- The records are read in one piece and never parsed into a table: wrk runs
-- init() for one thread after another before it starts its clock, while the
-- threads already started send requests, so a slow init would add requests
-- that the run's duration does not count (a million parsed lines took seconds
-- and made the 1M-course figures exceed the transport ceiling).

local RECLEN = 36 + 1 + 6 + 1
local headers = {}
local recs, n, prefix, suffix
local thread_no = 0

function setup(thread)
   thread_no = thread_no + 1
   thread:set("id", thread_no)
end

function init(args)
   assert(#args == 4, "usage: -- TOKENS PAIRS PREFIX SUFFIX")
   local f = assert(io.open(args[1], "r"))
   for token in f:lines() do
      headers[#headers + 1] = { ["Authorization"] = "Bearer " .. token }
   end
   f:close()
   f = assert(io.open(args[2], "rb"))
   recs = f:read("*a")
   f:close()
   assert(#recs > 0 and #recs % RECLEN == 0, "bad pairs file " .. args[2])
   n = math.floor(#recs / RECLEN)
   prefix, suffix = args[3], args[4]
   math.randomseed(os.time() * 1000 + (id or 0) * 7919 + math.floor(os.clock() * 1e6))
end

function request()
   local off = (math.random(n) - 1) * RECLEN
   local course = recs:sub(off + 1, off + 36)
   local t = tonumber(recs:sub(off + 38, off + 43))
   return wrk.format("GET", prefix .. course .. suffix, headers[t + 1])
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
