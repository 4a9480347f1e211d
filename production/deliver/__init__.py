"""What leaves the building: the episode folder and its manifest (`delivery`), the edit for other editors' tools
(`interchange`), and an episode rendered again from a manifest."""

from aigms.production.deliver.delivery import (deliver, draft_manifest, read_manifest, record_lines,
                                               render_from_manifest, take_calls, take_failures, take_notes)

__all__ = ["deliver", "draft_manifest", "read_manifest", "record_lines", "render_from_manifest", "take_calls",
           "take_failures", "take_notes"]
