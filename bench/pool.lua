-- wrk script of the benchmark: requests built from a spec and a pool of tokens, one line of JSON at the end.
--   wrk -t1 ... -s bench/pool.lua URL -- SPEC_FILE TOKENS_FILE
-- SPEC_FILE (written by bench.ops.Op.spec_lines), one "key<TAB>value" a line:
--   method, path, header ("Name: value", repeatable), body, mode ("cycle" or "rotate"), successor, expect.
-- "{token}" in a header value or the body is replaced by a pool token. cycle: round robin over the
-- pool (requests formatted once). rotate: each request consumes a token and the answer's
-- "<successor>":"..." member goes back to the pool (a rotation per request).
-- An answer counts as an error unless it is 2xx and, with expect, its body contains that text.
local spec, tokens, formatted, next_index = { headers = {} }, {}, {}, 1
non2xx, unexpected = 0, 0
local threads = {}

local function fill(template, token)
  return (string.gsub(template, "{token}", function() return token end))
end

local function build(token)
  local headers = {}
  for name, value in pairs(spec.headers) do headers[name] = fill(value, token) end
  local body = nil
  if spec.body then body = fill(spec.body, token) end
  return wrk.format(spec.method, spec.path, headers, body)
end

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    local key, value = string.match(line, "^([^\t]+)\t(.*)$")
    if key == "header" then
      local name, header_value = string.match(value, "^([^:]+):%s*(.*)$")
      spec.headers[name] = header_value
    elseif key then
      spec[key] = value
    end
  end
  spec.pattern = '"' .. spec.successor .. '"%s*:%s*"([^"]+)"'
  for line in io.lines(args[2]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  if spec.mode == "cycle" then
    for i, token in ipairs(tokens) do formatted[i] = build(token) end
  end
end

function request()
  if spec.mode == "cycle" then
    local req = formatted[next_index]
    next_index = next_index % #formatted + 1
    return req
  end
  local token = table.remove(tokens, 1)
  if token == nil then token = "pool-is-empty-pool-is-empty-pool-is-empty-000" end
  return build(token)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif spec.expect and not (body and string.find(body, spec.expect, 1, true)) then
    unexpected = unexpected + 1
  end
  if spec.mode == "rotate" and body then
    local successor = string.match(body, spec.pattern)
    if successor then tokens[#tokens + 1] = successor end
  end
end

function done(summary, latency, requests)
  local bad, odd = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    odd = odd + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"non2xx":%d,"unexpected":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, bad, odd))
end
