"""Recording: motion clips on disk.

Owns the pre-roll buffer, the clip writers (H.264 remux, JPEG encode), the recorder
that turns "record from t0 to t1" into a clip, and the clip store (index, retention,
thumbnails, crash-safe files).

May import: `sources` (frame and packet types), never `motion` or `sharing`.
"""
