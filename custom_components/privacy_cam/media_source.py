"""Media source: browse clips by camera and day, play them through the clip view.

Every media-source identifier of this integration is built and parsed here (they are
stored in events, sensor attributes and users' automations: never change one).
"""

from __future__ import annotations

from enum import StrEnum

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
    generate_media_source_id,
)
from homeassistant.core import HomeAssistant

from .const import DOMAIN, LABEL_TITLES
from .data import DATA_SHARING
from .engine.recording.clipstore import CAMERA_RE, CLIP_ID_RE, Clip
from .engine.sharing.reports import REPORT_ID_RE, Report, ReportStatus
from .storage import SharedStore, async_get_store
from .views import clip_url, report_url

PAGE_SIZE = 50
PENDING_TITLE = "Reports awaiting your consent"
PENDING_STATUSES = (ReportStatus.PREPARED, ReportStatus.FAILED)
SHARED_TITLE = "Reports you shared"


class IdentifierType(StrEnum):
    """The first part of an identifier, when it is not a camera folder.

    The two folders are not possible camera folder names (those are [a-z0-9_]).
    """

    CLIP = "clip"
    REPORT = "report"
    PENDING = "awaiting-consent"
    SHARED = "shared-reports"


def media_content_id(clip_id: str) -> str:
    """A clip's media-source ID (events, sensors and automations hold it)."""
    return generate_media_source_id(DOMAIN, _item(IdentifierType.CLIP, clip_id))


def report_media_id(report_id: str) -> str:
    """A report package's media-source ID (the consent preview)."""
    return generate_media_source_id(DOMAIN, _item(IdentifierType.REPORT, report_id))


def _item(kind: IdentifierType, item_id: str) -> str:
    return f"{kind}/{item_id}"


async def async_get_media_source(hass: HomeAssistant) -> PrivacyCamMediaSource:
    return PrivacyCamMediaSource(hass)


class PrivacyCamMediaSource(MediaSource):
    """Clips by camera and day, and the reports that await consent or were shared.

    Accepted identifiers (after media-source://privacy_cam):

    * (none)
        Root: the report folders (only when they hold reports), then a folder
        per camera (configured, or with clips on disk)
    * awaiting-consent
        Prepared or failed reports waiting for a decision, newest first
    * shared-reports
        Reports shared and not withdrawn, newest first
    * {camera}
        A camera folder ([a-z0-9_]): the days it has clips on, newest first
    * {camera}/{day}[/{page}]
        That local day's (YYYY-MM-DD) clips, PAGE_SIZE a page (page 1 when left out; a later page is
        opened from the previous one's last child)
    * clip/{clip_id}
        One clip: browsed as a playable node, resolved to ClipView's mp4
    * report/{report_id}
        One report's package (resolved to ReportView's mp4; only while it exists)

    Browsing ignores empty parts (a/b/ is a/b); resolving takes only clip/... and
    report/... exactly.
    """

    name = "Privacy Cam"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        shared = await async_get_store(self.hass)
        kind, _, item_id = (item.identifier or "").partition("/")
        if kind == IdentifierType.REPORT:
            return await self._async_resolve_report(item_id)
        if (
            kind != IdentifierType.CLIP
            or not CLIP_ID_RE.fullmatch(item_id)
            or shared.store.get(item_id) is None
        ):
            raise Unresolvable(
                translation_domain=DOMAIN,
                translation_key="clip_not_found",
                translation_placeholders={"clip_id": item_id or (item.identifier or "")},
            )
        return PlayMedia(clip_url(item_id), "video/mp4")

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
        if parts == [IdentifierType.PENDING]:
            return self._pending(shared)
        if parts == [IdentifierType.SHARED]:
            return self._shared(shared)
        if parts[0] == IdentifierType.CLIP and len(parts) == 2:
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
            children.insert(
                0,
                self._folder(IdentifierType.SHARED, SHARED_TITLE, [], child_class=MediaClass.VIDEO),
            )
        if self._pending_reports():
            children.insert(
                0,
                self._folder(
                    IdentifierType.PENDING, PENDING_TITLE, [], child_class=MediaClass.VIDEO
                ),
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
            children.append(
                _video(
                    _item(IdentifierType.REPORT, report.id),
                    f"To {recipient} · {camera} · {when}",
                )
            )
        return self._folder(
            IdentifierType.SHARED, SHARED_TITLE, children, child_class=MediaClass.VIDEO
        )

    def _pending(self, shared: SharedStore) -> BrowseMediaSource:
        children = []
        for report in reversed(self._pending_reports()):
            entry = self.hass.config_entries.async_get_entry(report.destination_id)
            recipient = entry.title if entry else "?"
            until = shared.store.local(report.expires).strftime("%H:%M")
            camera = self._title(shared, report.camera)
            children.append(
                _video(
                    _item(IdentifierType.REPORT, report.id),
                    f"To {recipient} · {camera} · until {until}",
                )
            )
        return self._folder(
            IdentifierType.PENDING, PENDING_TITLE, children, child_class=MediaClass.VIDEO
        )

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
        # What moved, as the detector on this box judged it; nothing before it judged.
        what = f" · {LABEL_TITLES.get(clip.label, clip.label)}" if clip.label else ""
        return _video(
            _item(IdentifierType.CLIP, clip.id),
            f"{moment:%H:%M:%S} · {round(clip.duration)} s · {clip.reason}{what}{flags}",
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
