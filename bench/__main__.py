"""python -m bench [sources|motion]: print the benchmark tables (run through scripts/bench)."""

import sys

from . import motion, recording, sources

wanted = set(sys.argv[1:]) or {"sources", "motion", "recording"}
if "sources" in wanted:
    sources.print_table(sources.run())
if "motion" in wanted:
    motion.print_table(motion.run())
if "recording" in wanted:
    recording.print_table(recording.run())
