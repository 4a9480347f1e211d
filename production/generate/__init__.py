"""The generate stage: a shot filmed as takes (keyframe → segments → the native clip → the clip conformed to the
delivery), each found again by its recipe and each call priced against the budgets (`costs`); the backends that film
them are plugins in `generators/`, a remote camera's calls durable jobs (`remote`)."""

from aigms.production.generate.takes import (Recipe, RenderedTake, ShotResult, Steps, check_generators,
                                             current_keyframes, film_take, find_take, found_shot, keyframe_for,
                                             keyframe_recipe, make_keyframe, reference_hashes, render_shot, render_take,
                                             take_recipe, take_seed)

__all__ = ["Recipe", "RenderedTake", "ShotResult", "Steps", "check_generators", "current_keyframes", "film_take",
           "find_take", "found_shot", "keyframe_for", "keyframe_recipe", "make_keyframe", "reference_hashes",
           "render_shot", "render_take", "take_recipe", "take_seed"]
