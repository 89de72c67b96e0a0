"""python -m bench [sources|motion|recording|sharing|soak]: print the benchmark tables.

The soak (30 minutes; PRIVACY_CAM_SOAK_MINUTES to change) runs only when asked for.
"""

import sys

from . import motion, recording, sharing, soak, sources

wanted = set(sys.argv[1:]) or {"sources", "motion", "recording", "sharing"}
if "sources" in wanted:
    sources.print_table(sources.run())
if "motion" in wanted:
    motion.print_table(motion.run())
if "recording" in wanted:
    recording.print_table(recording.run())
if "sharing" in wanted:
    sharing.print_table(sharing.run())
if "soak" in wanted:
    soak.print_table(soak.run(soak.minutes()))
