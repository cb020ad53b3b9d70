"""Fuzzing what the kernel sends (see :mod:`tests.fuzz.harness`; ``scripts/fuzz`` runs it)."""
