"""Benchmark commands (not tests): solver speed and scaling. See docs/speed.md."""
