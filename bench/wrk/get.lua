-- get.lua - GET on the URL's path, keep-alive (wrk's default request).
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/get.lua http://HOST:PORT/
--
-- At the end it prints one "wrk-summary" line (requests, errors, non-2xx
-- or 3xx replies, latency percentiles in microseconds), the same for every
-- script of bench/wrk, for comparing two runs at a glance.

wrk.method = "GET"

-- the wrk-summary line (summary.lua, next to this script)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
