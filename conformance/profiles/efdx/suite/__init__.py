"""The EFDX 1.0 conformance suite: pytest modules run by `conformance run` against a candidate NSW.

Each test declares the requirement IDs it judges; the shared steps (conformance.family.suite.steps) do the
sending, waiting and judging. The harness's own tests live in tests/, not here.
"""
