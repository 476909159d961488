-- post.lua - POST with a Content-Length body of a given size, keep-alive.
--
--   wrk -t1 -c50 -d10s --latency -s bench/wrk/post.lua http://HOST:PORT/ -- 65536
--   BODY_SIZE=65536 wrk ... -s bench/wrk/post.lua http://HOST:PORT/
--
-- The size in bytes is the first argument after "--", else $BODY_SIZE,
-- else 1024. The body is that many "x"; wrk.format adds the
-- Content-Length.

local size = 1024

function init(args)
    size = tonumber(args[1] or os.getenv("BODY_SIZE") or "1024")
    wrk.method = "POST"
    wrk.body = string.rep("x", size)
    wrk.headers["Content-Type"] = "application/octet-stream"
end

-- the wrk-summary line (summary.lua, next to this script)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
