"""What leaves the building: the episode cut and its folder with the manifest (`delivery`), the edit for other
editors' tools (`interchange`: OTIO with every take, EDL, FCP XML, AAF, a portable OTIO bundle), an episode rendered
again from a manifest, and the hand-off to the studio's tools: a 剪映 draft of the latest cut (`jianying`, read back
by `delivered`) and the Kitsu sync (`kitsu`)."""

from aigms.production.deliver.delivery import (Cut, cut, deliver, draft_manifest, read_manifest, record_lines,
                                               render_from_manifest, take_calls, take_failures, take_notes)

__all__ = ["Cut", "cut", "deliver", "draft_manifest", "read_manifest", "record_lines", "render_from_manifest",
           "take_calls", "take_failures", "take_notes"]
