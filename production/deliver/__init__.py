"""What leaves the building: the episode cut and its folder with the manifest (`delivery`), the edit for other
editors' tools (`interchange`), and an episode rendered again from a manifest."""

from aigms.production.deliver.delivery import (Cut, cut, deliver, draft_manifest, read_manifest, record_lines,
                                               render_from_manifest, take_failures)

__all__ = ["Cut", "cut", "deliver", "draft_manifest", "read_manifest", "record_lines", "render_from_manifest",
           "take_failures"]
