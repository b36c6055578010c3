"""One module per webhook provider, each a spec plus two functions (docs/style.md rule 6):

- `verify(raw_body, headers, secret, query)` raises `SignatureError(reason)`;
- `parse(raw_body, headers, owner_id)` returns `Event`s or raises `MalformedPayload`.

Headers arrive lower-cased. `registry.PROVIDERS` maps the URL's provider name to its spec.
"""
