"""Sources: where a frame comes from.

Owns connecting to a camera (RTSP/RTSPS through PyAV, MJPEG and snapshot URLs over
HTTP, the demo), reconnecting, classifying and scrubbing errors, and handing on what a
camera sends: encoded packets as they arrived, the latest frame for stills, and small
gray frames for analysis (`frames.py` holds those types).

May import: nothing else of ours (only the standard library, PyAV and NumPy).
"""
