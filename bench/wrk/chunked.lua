-- chunked.lua - POST with "Transfer-Encoding: chunked" and no
-- Content-Length: one chunk of a given size, then the last chunk.
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/chunked.lua http://HOST:PORT/ -- 1024
--
-- The body size is the first argument after "--", else $BODY_SIZE, else
-- 1024. Against lengthguard with "chunked = reject" (the default) every
-- reply is a 411 that closes the connection (wrk reconnects, and counts
-- the 411s as non-2xx); with "chunked = buffer" lengthguard forwards the
-- body with a Content-Length and keeps the connection.

local size = 1024
local req = nil

function init(args)
    size = tonumber(args[1] or os.getenv("BODY_SIZE") or "1024")
end

function request()
    if req == nil then
        req = wrk.format("POST", wrk.path, {
            ["Content-Type"] = "application/octet-stream",
            ["Transfer-Encoding"] = "chunked",
        }) .. string.format("%x\r\n", size) .. string.rep("x", size) ..
            "\r\n0\r\n\r\n"
    end
    return req
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk-summary requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d p999_us=%d\n",
        summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
