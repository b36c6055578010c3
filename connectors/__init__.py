"""One client per platform, speaking its real API, behind two small interfaces.

`InventorySource` is the ERP (the truth for stock); `Storefront` is a store we write to.
Whether a connector talks to a sandbox or to a real platform is only its base URL and
credentials (docs/style.md rule 11). `registry.build_source` / `registry.build_storefront`
pick the class by platform name.
"""
