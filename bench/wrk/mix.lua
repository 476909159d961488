-- mix.lua - a mix of the other scripts' requests, in a fixed cycle of 20:
-- 14 GET, 5 POST with a 1 KiB Content-Length body, 1 chunked POST of
-- 1 KiB.
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/mix.lua http://HOST:PORT/
--
-- Against lengthguard with "chunked = reject" the chunked POSTs get a 411
-- and a closed connection (5% of the requests, counted as non-2xx by wrk);
-- the upstream reached directly answers them as it does chunked bodies.

local reqs = nil
local i = 0

local function build()
    local body = string.rep("x", 1024)
    local get = wrk.format("GET", wrk.path)
    local post = wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/octet-stream",
    }, body)
    local chunked = wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/octet-stream",
        ["Transfer-Encoding"] = "chunked",
    }) .. string.format("%x\r\n", #body) .. body .. "\r\n0\r\n\r\n"
    reqs = {}
    for k = 1, 20 do
        if k == 20 then
            reqs[k] = chunked
        elseif k % 4 == 2 then
            reqs[k] = post
        else
            reqs[k] = get
        end
    end
end

function request()
    if reqs == nil then
        build()
    end
    i = i % 20 + 1
    return reqs[i]
end

-- the wrk-summary line (summary.lua, next to this script)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
