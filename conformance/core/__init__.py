"""The engine's core: generic and profile-free.

Safe XML parsing, XML signatures (building, verifying), the receiver policy, trust in signers,
schema sets, the HTTP client and the inbox server, violations and verdicts. An import-linter
contract (pyproject.toml, run by .ci/run) keeps every profile, and everything that knows one, out.
"""
