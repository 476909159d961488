-- get.lua - GET on the URL's path, keep-alive (wrk's default request).
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/get.lua http://HOST:PORT/
--
-- At the end it prints one "wrk-summary" line (requests, errors, non-2xx
-- or 3xx replies, latency percentiles in microseconds), the same for every
-- script of bench/wrk, for comparing two runs at a glance.

wrk.method = "GET"

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk-summary requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d p999_us=%d\n",
        summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
