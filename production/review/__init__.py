"""Review: people and their roles, and a director's decisions on takes, shot lists and cuts, each a `Review` row;
a rejection becomes a retake."""

from aigms.production.review.reviews import (APPROVE, CIRCLED, NOTE, REJECT, Region, Reviewer, ReviewError, circle_take,
                                             note_on_take, record_cut, review_cut, review_shotlist, review_take,
                                             submit_for_approval, with_retake_notes)

__all__ = ["APPROVE", "CIRCLED", "NOTE", "REJECT", "Region", "ReviewError", "Reviewer", "circle_take", "note_on_take",
           "record_cut", "review_cut", "review_shotlist", "review_take", "submit_for_approval", "with_retake_notes"]
