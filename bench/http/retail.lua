-- wrk script: the retail workload over HTTP against the web API sample (see run-webapi-load.sh).
-- Persons 1..PERSONS as preloaded by the benchmark harness (`--export`): 60% (email_k, phone_k), 20% email only,
-- 10% phone only, 10% (email_k, second phone of k).
local persons = tonumber(os.getenv("PERSONS") or "50000")
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
end

function init(args)
  math.randomseed(seed or 20261121)
end

function request()
  local k = math.random(1, persons)
  local roll = math.random(0, 9)
  local body
  if roll < 6 then
    body = string.format('{"email":"user%d@example.com","phoneNumber":"+1%010d"}', k, k)
  elseif roll < 8 then
    body = string.format('{"email":"user%d@example.com","phoneNumber":null}', k)
  elseif roll < 9 then
    body = string.format('{"email":null,"phoneNumber":"+1%010d"}', k)
  else
    body = string.format('{"email":"user%d@example.com","phoneNumber":"+2%010d"}', k, k)
  end
  return wrk.format("POST", "/identify", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
