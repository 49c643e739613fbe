"""Test vectors, their manifest and the TEST ONLY PKI, shipped as package data (conformance.test_vectors)."""
