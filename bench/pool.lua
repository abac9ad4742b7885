-- wrk script of the benchmark: requests drawn from a pool of tokens, one line of JSON at the end.
--   wrk ... -s bench/pool.lua URL -- bearer PATH TOKENS_FILE   GET PATH with "Authorization: Bearer <token>", round robin
--   wrk ... -s bench/pool.lua URL -- refresh PATH TOKENS_FILE  POST PATH {"refreshToken": <token>}; each answer's
--                                                             successor goes back to the pool (a rotation per request)
local mode, path, tokens, next_index = nil, nil, {}, 1

function init(args)
  mode, path = args[1], args[2]
  for line in io.lines(args[3]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
end

function request()
  if mode == "bearer" then
    local token = tokens[next_index]
    next_index = next_index % #tokens + 1
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
  end
  local token = table.remove(tokens, 1)
  if token == nil then token = "pool-is-empty-pool-is-empty-pool-is-empty-000" end
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, '{"refreshToken":"' .. token .. '"}')
end

function response(status, headers, body)
  if mode == "refresh" then
    local successor = string.match(body, '"refreshToken"%s*:%s*"([^"]+)"')
    if successor then tokens[#tokens + 1] = successor end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
