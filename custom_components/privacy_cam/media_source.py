"""Media source: browse clips by camera and day, play them through the clip view."""

from __future__ import annotations

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .engine.recording.clipstore import CAMERA_RE, CLIP_ID_RE, Clip
from .engine.sharing.reports import REPORT_ID_RE, Report, ReportStatus
from .sharing import DATA_SHARING, report_url
from .storage import SharedStore, async_get_store
from .views import clip_url

PAGE_SIZE = 50
# Not a possible camera folder name (those are [a-z0-9_]).
PENDING = "awaiting-consent"
PENDING_TITLE = "Reports awaiting your consent"
PENDING_STATUSES = (ReportStatus.PREPARED, ReportStatus.FAILED)
SHARED = "shared-reports"
SHARED_TITLE = "Reports you shared"


async def async_get_media_source(hass: HomeAssistant) -> PrivacyCamMediaSource:
    return PrivacyCamMediaSource(hass)


class PrivacyCamMediaSource(MediaSource):
    """media-source://privacy_cam/<camera>/<day>[/<page>] and .../clip/<id>."""

    name = "Privacy Cam"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        shared = await async_get_store(self.hass)
        kind, _, clip_id = (item.identifier or "").partition("/")
        if kind == "report":
            return await self._async_resolve_report(clip_id)
        if kind != "clip" or not CLIP_ID_RE.fullmatch(clip_id) or shared.store.get(clip_id) is None:
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="clip_not_found",
                translation_placeholders={"clip_id": clip_id or (item.identifier or "")},
            )
        return PlayMedia(clip_url(clip_id), "video/mp4")

    async def _async_resolve_report(self, report_id: str) -> PlayMedia:
        """A prepared report's package (the preview before consent)."""
        sharing = self.hass.data.get(DATA_SHARING)
        if (
            sharing is None
            or not REPORT_ID_RE.fullmatch(report_id)
            or not await self.hass.async_add_executor_job(sharing.reports.has_package, report_id)
        ):
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="report_not_found",
                translation_placeholders={"report_id": report_id},
            )
        return PlayMedia(report_url(report_id), "video/mp4")

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        shared = await async_get_store(self.hass)
        parts = [p for p in (item.identifier or "").split("/") if p]
        if not parts:
            return self._root(shared)
        if parts == [PENDING]:
            return self._pending(shared)
        if parts == [SHARED]:
            return self._shared(shared)
        if parts[0] == "clip" and len(parts) == 2:
            clip = shared.store.get(parts[1]) if CLIP_ID_RE.fullmatch(parts[1]) else None
            if clip is not None:
                return self._clip(shared, clip)
        elif CAMERA_RE.fullmatch(parts[0]):
            if len(parts) == 1:
                return self._camera(shared, parts[0])
            page = parts[2] if len(parts) == 3 else "1"
            if len(parts) <= 3 and page.isdigit() and int(page) >= 1:
                return self._day(shared, parts[0], parts[1], int(page))
        raise Unresolvable(
            translation_domain=DOMAIN,
            translation_key="media_not_found",
            translation_placeholders={"identifier": item.identifier or ""},
        )

    def _title(self, shared: SharedStore, camera: str) -> str:
        entry_id = shared.cameras.get(camera)
        entry = self.hass.config_entries.async_get_entry(entry_id) if entry_id else None
        return entry.title if entry else camera

    def _clips(self, shared: SharedStore, camera: str) -> list[Clip]:
        """A camera's node lists the clips that camera recorded (their owner). A folder
        of a removed camera (or of clips without an owner) lists those under the folder's
        name: never under another camera's."""
        owner = shared.cameras.get(camera)
        if owner is not None:
            return shared.store.clips(owner=owner)
        others = set(shared.cameras.values())
        return [c for c in shared.store.clips(camera=camera) if c.owner not in others]

    def _folder(
        self,
        identifier: str,
        title: str,
        children: list[BrowseMediaSource],
        *,
        child_class: MediaClass = MediaClass.DIRECTORY,
    ) -> BrowseMediaSource:
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=identifier or None,
            media_class=MediaClass.DIRECTORY,
            media_content_type=MediaType.VIDEO if child_class == MediaClass.VIDEO else "",
            title=title,
            can_play=False,
            can_expand=True,
            children=children,
            children_media_class=child_class,
        )

    def _root(self, shared: SharedStore) -> BrowseMediaSource:
        cameras = sorted({c.camera for c in shared.store.clips()} | set(shared.cameras))
        children = [self._folder(camera, self._title(shared, camera), []) for camera in cameras]
        if self._reports(ReportStatus.SHARED):
            children.insert(0, self._folder(SHARED, SHARED_TITLE, [], child_class=MediaClass.VIDEO))
        if self._pending_reports():
            children.insert(
                0, self._folder(PENDING, PENDING_TITLE, [], child_class=MediaClass.VIDEO)
            )
        return self._folder("", "Privacy Cam", children)

    def _pending_reports(self) -> list[Report]:
        """Prepared packages that wait for a decision (the exact bytes consent would send)."""
        return self._reports(*PENDING_STATUSES)

    def _reports(self, *statuses: ReportStatus) -> list[Report]:
        sharing = self.hass.data.get(DATA_SHARING)
        if sharing is None:
            return []
        return [r for r in sharing.reports.all() if r.status in statuses]

    def _shared(self, shared: SharedStore) -> BrowseMediaSource:
        """What left this box and has not been withdrawn (withdraw in the destination's
        Configure dialog)."""
        children = []
        for report in reversed(self._reports(ReportStatus.SHARED)):
            entry = self.hass.config_entries.async_get_entry(report.destination_id)
            recipient = entry.title if entry else "?"
            when = shared.store.local(report.created).strftime("%Y-%m-%d %H:%M")
            camera = self._title(shared, report.camera)
            children.append(_video(f"report/{report.id}", f"To {recipient} · {camera} · {when}"))
        return self._folder(SHARED, SHARED_TITLE, children, child_class=MediaClass.VIDEO)

    def _pending(self, shared: SharedStore) -> BrowseMediaSource:
        children = []
        for report in reversed(self._pending_reports()):
            entry = self.hass.config_entries.async_get_entry(report.destination_id)
            recipient = entry.title if entry else "?"
            until = shared.store.local(report.expires).strftime("%H:%M")
            camera = self._title(shared, report.camera)
            children.append(
                _video(f"report/{report.id}", f"To {recipient} · {camera} · until {until}")
            )
        return self._folder(PENDING, PENDING_TITLE, children, child_class=MediaClass.VIDEO)

    def _camera(self, shared: SharedStore, camera: str) -> BrowseMediaSource:
        days = shared.store.days(self._clips(shared, camera))
        children = [
            self._folder(f"{camera}/{day}", day, [], child_class=MediaClass.VIDEO) for day in days
        ]
        return self._folder(camera, self._title(shared, camera), children)

    def _day(self, shared: SharedStore, camera: str, day: str, page: int) -> BrowseMediaSource:
        clips = [c for c in self._clips(shared, camera) if shared.store.day(c) == day]
        first = (page - 1) * PAGE_SIZE
        children = [self._clip(shared, clip) for clip in clips[first : first + PAGE_SIZE]]
        if first + PAGE_SIZE < len(clips):
            # Long days are paged: the last child opens the next page.
            children.append(
                self._folder(
                    f"{camera}/{day}/{page + 1}",
                    f"Older clips ({len(clips) - first - PAGE_SIZE} more)",
                    [],
                    child_class=MediaClass.VIDEO,
                )
            )
        title = f"{self._title(shared, camera)} · {day}"
        if page > 1:
            title += f" ({page})"
        return self._folder(
            f"{camera}/{day}" + (f"/{page}" if page > 1 else ""),
            title,
            children,
            child_class=MediaClass.VIDEO,
        )

    def _clip(self, shared: SharedStore, clip: Clip) -> BrowseMediaSource:
        moment = shared.store.local(clip.start)
        flags = " · kept" if clip.kept else ""
        return _video(
            f"clip/{clip.id}",
            f"{moment:%H:%M:%S} · {round(clip.duration)} s · {clip.reason}{flags}",
            clip_url(clip.id, "jpg"),
        )


def _video(identifier: str, title: str, thumbnail: str | None = None) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=MediaClass.VIDEO,
        media_content_type="video/mp4",
        title=title,
        can_play=True,
        can_expand=False,
        thumbnail=thumbnail,
    )
