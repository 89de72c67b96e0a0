"""Motion: what moved, and when an event starts and ends.

Owns the detector (background model, lighting rejection, blobs), zones and masks,
event tracking, the locally learned nuisance regions, the watcher thread that feeds
analysis frames to the detector, and the offline analysis behind the detect CLI.

May import: `sources` (frame types only), never `recording` or `sharing`.
"""
