"""A real RTSP server for tests: gst-rtsp-server serving MP4 files over RTSP.

Run with Debian's /usr/bin/python3 (it has GObject introspection):
    rtsp_server.py PORT MOUNT=[h265:]FILE.mp4 [MOUNT=...] [--auth USER:PASS]
Prints "READY" once listening. Each client gets the file from its start.
With --auth every mount needs HTTP basic credentials.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    args = sys.argv[2:]
    credentials = None
    if "--auth" in args:
        index = args.index("--auth")
        credentials = args[index + 1].split(":", 1)
        del args[index : index + 2]
    if credentials:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(*credentials), token)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for spec in args:
        mount, path = spec.split("=", 1)
        # "h265:FILE" serves an H.265 MP4 (rtsp.py tells which a file holds).
        codec, _, path = path.partition(":") if path.startswith("h265:") else ("h264", "", path)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f"( filesrc location={path} ! qtdemux ! {codec}parse ! "
            f"rtp{codec}pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(False)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
        if credentials:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_role("viewer")
            permissions.add_permission_for_role("viewer", "media.factory.access", True)
            permissions.add_permission_for_role("viewer", "media.factory.construct", True)
            factory.set_permissions(permissions)
        mounts.add_factory(mount, factory)
    server.attach(None)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
