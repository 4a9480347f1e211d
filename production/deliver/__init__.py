"""What leaves the building: the episode folder and its manifest (`delivery`), the edit for other editors' tools
(`interchange`: OTIO with every take, EDL, FCP XML, AAF, a portable OTIO bundle), an episode rendered again from a
manifest, and the hand-off to the studio's tools: a 剪映 draft of the latest cut (`jianying`, from `cut`) and the
Kitsu sync (`kitsu`)."""

from aigms.production.deliver.delivery import (deliver, draft_manifest, read_manifest, record_lines,
                                               render_from_manifest, take_calls, take_failures, take_notes)

__all__ = ["deliver", "draft_manifest", "read_manifest", "record_lines", "render_from_manifest", "take_calls",
           "take_failures", "take_notes"]
