"""Hypothesis strategies shared by the tests, one module per area (money, tariffs, quotas, ...)."""
