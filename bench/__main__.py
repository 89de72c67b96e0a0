"""python -m bench: print the benchmark tables (run through scripts/bench)."""

from . import sources

if __name__ == "__main__":
    sources.print_table(sources.run())
