"""python -m bench [sources|motion]: print the benchmark tables (run through scripts/bench)."""

import sys

from . import motion, sources

wanted = set(sys.argv[1:]) or {"sources", "motion"}
if "sources" in wanted:
    sources.print_table(sources.run())
if "motion" in wanted:
    motion.print_table(motion.run())
