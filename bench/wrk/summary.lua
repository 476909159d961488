-- summary.lua - the "wrk-summary" line every script of bench/wrk prints at
-- the end: requests, errors, non-2xx or 3xx replies, latency percentiles in
-- microseconds. Loaded by the scripts next to it (dofile), not run alone.

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk-summary requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d p999_us=%d\n",
        summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
