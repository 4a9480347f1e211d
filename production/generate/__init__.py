"""The generate stage: a shot filmed as takes (keyframe → segments → the native clip → the clip conformed to the
delivery), each found again by its recipe; the backends that film them are plugins in `generators/`."""

from aigms.production.generate.takes import (RenderedTake, ShotResult, Steps, check_take, film_take, find_take,
                                             keyframe_recipe, make_keyframe, render_shot, render_take, take_recipe,
                                             take_seed)

__all__ = ["RenderedTake", "ShotResult", "Steps", "check_take", "film_take", "find_take", "keyframe_recipe",
           "make_keyframe", "render_shot", "render_take", "take_recipe", "take_seed"]
