-- wrk script: replay pre-signed deliveries from the file named by REQUESTS, one per
-- line: "<path>\t<header: value>|<header: value>...\t<body>", cycling through them.
--
-- Each wrk thread has its own Lua state, and Lua's random generator starts from the
-- same seed in every state: starting threads at `math.random` offsets sent the same
-- deliveries twice at once, so half the load was duplicates. Instead each thread
-- takes its own share of the file (WRK_THREADS shares), numbered in `setup`.
local requests = {}
local first, last, index = 0, 0, 0
local threads_made = 0

function setup(thread)
  thread:set("share", threads_made)
  threads_made = threads_made + 1
end

function init(args)
  local file = assert(io.open(os.getenv("REQUESTS"), "r"))
  for line in file:lines() do
    local path, headers_text, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    for pair in headers_text:gmatch("[^|]+") do
      local name, value = pair:match("^([^:]+): (.*)$")
      headers[name] = value
    end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  file:close()
  local per_share = math.floor(#requests / tonumber(os.getenv("WRK_THREADS")))
  first = share * per_share + 1
  last = first + per_share - 1
  index = first - 1
end

function request()
  index = index + 1
  if index > last then
    index = first
  end
  return requests[index]
end
