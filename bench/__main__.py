"""python -m bench [sources|motion|recording|sharing|detector|cameras|soak|many]: the tables.

The soak (30 minutes; PRIVACY_CAM_SOAK_MINUTES to change) and cameras (four profiles of a
minute each; PRIVACY_CAM_CAMERAS_SECONDS to change) and many (8 cameras in one Home
Assistant, three profiles; PRIVACY_CAM_MANY_SECONDS to change) run only when asked for.
"""

import sys

from . import cameras, detector, many, motion, recording, sharing, soak, sources

wanted = set(sys.argv[1:]) or {"sources", "motion", "recording", "sharing", "detector"}
if "sources" in wanted:
    sources.print_table(sources.run())
if "motion" in wanted:
    motion.print_table(motion.run())
if "recording" in wanted:
    recording.print_table(recording.run())
if "sharing" in wanted:
    sharing.print_table(sharing.run())
if "detector" in wanted:
    detector.print_table(detector.run())
if "cameras" in wanted:
    cameras.print_table(cameras.run())
if "soak" in wanted:
    soak.print_table(soak.run(soak.minutes()))
if "many" in wanted:
    many.print_table(many.run())
