"""TOY 0.1: the smallest useful profile pack (see the README's "Writing a profile pack")."""
