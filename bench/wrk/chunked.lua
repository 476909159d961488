-- chunked.lua - POST with "Transfer-Encoding: chunked" and no
-- Content-Length: one chunk of a given size, then the last chunk.
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/chunked.lua http://HOST:PORT/ -- 1024
--   wrk ... -s bench/wrk/chunked.lua http://HOST:PORT/ -- 1024 close
--
-- The body size is the first argument after "--", else $BODY_SIZE, else
-- 1024. Against lengthguard with "chunked = reject" (the default) every
-- reply is a 411 (counted as non-2xx); since the whole body comes with
-- the head, lengthguard discards it and keeps the connection (a peer that
-- closes makes wrk reconnect). A second argument "close" adds
-- "Connection: close" to the request: then lengthguard closes after the
-- 411 too, and wrk opens a new connection for every request. With
-- "chunked = buffer" lengthguard forwards the body with a Content-Length.

local size = 1024
local close = false
local req = nil

function init(args)
    size = tonumber(args[1] or os.getenv("BODY_SIZE") or "1024")
    close = args[2] == "close"
end

function request()
    if req == nil then
        local headers = {
            ["Content-Type"] = "application/octet-stream",
            ["Transfer-Encoding"] = "chunked",
        }
        if close then
            headers["Connection"] = "close"
        end
        req = wrk.format("POST", wrk.path, headers) .. string.format("%x\r\n", size) .. string.rep("x", size) ..
            "\r\n0\r\n\r\n"
    end
    return req
end

-- the wrk-summary line (summary.lua, next to this script)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
