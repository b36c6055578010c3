-- wrk script: replay pre-signed deliveries from the file named by REQUESTS, one per
-- line: "<path>\t<header: value>|<header: value>...\t<body>", cycling through them.
local requests = {}
local index = 0

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
  -- Each wrk thread starts at a different offset so threads do not send the same
  -- delivery at the same moment.
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
