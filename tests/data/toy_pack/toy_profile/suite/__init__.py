"""The TOY 0.1 suite: tests of the candidate, marked with the requirements and purposes they judge."""
