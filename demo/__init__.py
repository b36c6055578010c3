"""The end-to-end demo (`python -m demo`, what `make demo` runs): the whole system
against local platform sandboxes, end to end.

Also the toolbox the benchmarks share: accounts for the sandboxes, their control
routes, registering a source and its sites, and the stack's processes.
"""
