"""Keyframes only: the packets since the latest keyframe, decoded in full when asked.

A keyframes-only source decodes one picture per group of pictures. When that picture
shows something new, the motion thread asks for the rest of its group (a burst) to
confirm it at the camera's rate. The group's packets are kept as they come (a few KB
each on a substream) so the burst starts at the keyframe, whatever the motion thread's
delay; a decoder of its own then decodes them and the group's remaining packets, up to
the next keyframe, where it is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import av

from .jpeg import MAX_PIXELS, ImageTooLarge, check_size

# A longer or bigger group is not kept, so never confirmed between keyframes: over 20 s at
# 15 fps, or over 8 MiB (a 4K stream at 16 Mbit/s fills it in 4 s; a substream's 2-s group
# is about 100 KB). A camera cannot make us hold more.
MAX_GROUP_PACKETS = 300
MAX_GROUP_BYTES = 8 * 2**20


class Group:
    """The latest group of pictures of one stream; `add` every packet, in order."""

    def __init__(self, codec: str, extradata: bytes | None, *, single_thread: bool = True) -> None:
        self._codec = codec
        self._extradata = extradata
        self._single_thread = single_thread
        self._packets: list[tuple[bytes, float]] | None = None  # None: none to keep now
        self._bytes = 0
        self._decoder: Any = None
        self._arrivals: deque[float] = deque()  # of the packets the decoder has yet to give
        self._wanted: float | None = None
        self._lock = threading.Lock()
        self.bursts = 0

    def want(self, keyframe: float) -> None:
        """Decode the group whose keyframe arrived at `keyframe` (any thread). A group
        that has ended meanwhile is not decoded: its frames are of no use any more."""
        with self._lock:
            self._wanted = keyframe

    def reset(self) -> None:
        """Packets were left out (decoding paused): nothing to decode until a keyframe."""
        self._packets = None
        self._bytes = 0
        self._decoder = None
        self._arrivals.clear()

    def add(self, packet: Any, key: bool, now: float) -> list[tuple[av.VideoFrame, float]]:
        """Keep a packet that arrived at `now`; the burst's frames it completes (with the
        times their packets arrived), in display order."""
        ended: list[tuple[av.VideoFrame, float]] = []
        if key:
            if self._decoder is not None:  # the last frames, held back to reorder
                ended = self._decode([(None, now)])
            self.reset()
            self._packets = []
        packets = self._packets
        if packets is None:
            return []
        self._bytes += packet.size
        if len(packets) >= MAX_GROUP_PACKETS or self._bytes > MAX_GROUP_BYTES:
            self.reset()
            return ended
        data = bytes(packet)  # (the recorder's bitstream filter may take the packet over)
        packets.append((data, now))
        if self._decoder is not None:
            return self._decode([(data, now)])
        with self._lock:
            wanted, self._wanted = self._wanted, None
        if wanted is None or wanted != packets[0][1]:
            return ended
        decoder = self._open()
        if decoder is None:
            return []
        self._decoder = decoder
        self.bursts += 1
        return self._decode(packets)

    def _open(self) -> Any:
        try:
            decoder: Any = av.CodecContext.create(self._codec, "r")
            if self._extradata:
                decoder.extradata = self._extradata
            if self._single_thread:  # a substream's picture: helper threads only cost
                decoder.thread_count = 1
            # FFmpeg refuses a bigger picture before allocating it (checked again below).
            decoder.options = {"max_pixels": str(MAX_PIXELS)}
        except (av.FFmpegError, ValueError):  # ValueError: no such decoder in this FFmpeg
            return None
        return decoder

    def _decode(
        self, packets: Sequence[tuple[bytes | None, float]]
    ) -> list[tuple[av.VideoFrame, float]]:
        """Decode `packets` (None: drain the decoder) into frames with arrival times."""
        assert self._packets is not None
        keyframe = self._packets[0][1]
        out: list[tuple[av.VideoFrame, float]] = []
        for data, at in packets:
            frames: list[av.VideoFrame] = []
            if data is not None:
                self._arrivals.append(at)
            with contextlib.suppress(av.FFmpegError):  # a lost packet: fewer frames
                frames = self._decoder.decode(None if data is None else av.Packet(data))
            for frame in frames:
                # A frame's time is its packet's arrival: in decode order, which is display
                # order on cameras (no B-frames), else close to it.
                arrived = self._arrivals.popleft() if self._arrivals else at
                try:
                    check_size(frame.width, frame.height)
                except ImageTooLarge:
                    self.reset()  # the keyframe passed; a bigger picture now is not ours
                    return out
                if arrived > keyframe:  # the keyframe itself was analysed already
                    out.append((frame, arrived))
        return out
