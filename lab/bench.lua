-- wrk's script for the bench (lab/bench.py). BENCH_ROUTE=get follows the links whose codes
-- BENCH_CODES lists (comma-separated); BENCH_ROUTE=post creates links. When wrk is done, one
-- line of JSON: the requests counted, the seconds, those that failed (a status other than 2xx
-- or 3xx, or a socket error, a timeout) and the latency percentiles in milliseconds.
local route = os.getenv("BENCH_ROUTE")
local codes = {}
for code in string.gmatch(os.getenv("BENCH_CODES") or "", "[^,]+") do
  codes[#codes + 1] = code
end
local sent = 0

function request()
  sent = sent + 1
  if route == "get" then
    return wrk.format("GET", "/" .. codes[sent % #codes + 1])
  end
  -- A URL no other request sends: each thread has its own counter, so a random part too.
  local body = string.format('{"url": "https://bench.example/%d/%d"}', sent, math.random(1e9))
  return wrk.format("POST", "/links", { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "failures": %d, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, failed,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
