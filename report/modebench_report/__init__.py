"""modebench report stage: load, statistics, crossovers, compare, policy, render."""
