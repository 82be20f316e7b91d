-- wrk script for the benchmark: sends the request sequence that bench/workloads.py wrote,
-- from position START on, checks every response body, and prints one "BENCH {json}" line.
--   wrk -s bench/wrk.lua http://127.0.0.1:PORT/graphql -- DATA_FILE START
-- Each wrk thread runs its own copy of this script; done() adds their counters up.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local head, middle, tail = {}, nil, nil
local kinds, numbers, contacts = {}, {}, {}
local position = 1

-- Counters a thread reports: read through thread:get in done().
answered, http_errors, graphql_errors, failed, refused, found = 0, 0, 0, 0, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    local tag, rest = line:match("^(%a+)\t(.*)$")
    if tag == "head" then
      local kind, text = rest:match("^(%a)\t(.*)$")
      head[kind] = text
    elseif tag == "middle" then
      middle = rest
    elseif tag == "tail" then
      tail = rest
    elseif tag == "req" then
      local kind, number, contact = rest:match("^(%a)\t([^\t]+)\t(.*)$")
      table.insert(kinds, kind)
      table.insert(numbers, number)
      table.insert(contacts, contact)
    end
  end
  -- Each run starts where it is told, so a timed run does not repeat its warm-up's requests
  -- (a cache would remember them); threads start apart, so they do not ask in lockstep.
  position = 1 + ((tonumber(args[2]) or 0) + id * 7919) % #kinds
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local kind, number, contact = kinds[position], numbers[position], contacts[position]
  position = position % #kinds + 1
  return wrk.format(nil, nil, nil, head[kind] .. number .. middle .. contact .. tail)
end

-- Refusals the policy gives by design: the customer may not do this now, or must first enter
-- the one-time code e-mailed to the order (W3 sends no code).
local function is_refusal(body)
  return body:find('"NOT_ELIGIBLE"', 1, true) ~= nil
    or body:find('"VERIFICATION_REQUIRED"', 1, true) ~= nil
end

-- Answers that mean the request failed: the order was not found (every request carries the
-- right contact), the upstream failed, or the input was refused.
local function is_failure(body)
  return body:find('"ORDER_NOT_FOUND"', 1, true) ~= nil
    or body:find('"UPSTREAM_UNAVAILABLE"', 1, true) ~= nil
    or body:find('"INVALID_INPUT"', 1, true) ~= nil
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    http_errors = http_errors + 1
  elseif body:find('"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  elseif is_failure(body) then
    failed = failed + 1
  elseif is_refusal(body) then
    refused = refused + 1
  elseif body:find('"orderStatus"', 1, true) and body:find('"number"', 1, true) then
    found = found + 1
  end
end

function done(summary, latency, requests)
  local totals = {answered = 0, http_errors = 0, graphql_errors = 0, failed = 0, refused = 0,
                  found = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "answered": %d, "http_errors": %d, ' ..
    '"graphql_errors": %d, "failed": %d, "refused": %d, "found": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write, errors.timeout, totals.answered,
    totals.http_errors, totals.graphql_errors, totals.failed, totals.refused, totals.found))
end
