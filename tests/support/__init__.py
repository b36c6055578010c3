"""The test harness: plain helpers that tests and fixtures call, one module per job.

Builders of rows and payloads live in `tests/factories/`; fixtures in the conftests.
No test imports another test module or a conftest (tests/test_test_layout.py checks).
"""
