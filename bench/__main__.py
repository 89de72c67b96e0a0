"""python -m bench [sources|motion|recording|sharing]: print the benchmark tables."""

import sys

from . import motion, recording, sharing, sources

wanted = set(sys.argv[1:]) or {"sources", "motion", "recording", "sharing"}
if "sources" in wanted:
    sources.print_table(sources.run())
if "motion" in wanted:
    motion.print_table(motion.run())
if "recording" in wanted:
    recording.print_table(recording.run())
if "sharing" in wanted:
    sharing.print_table(sharing.run())
