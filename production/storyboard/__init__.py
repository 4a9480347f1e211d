"""The storyboard stage (分镜): the shot list planned from the script by coverage rules, timed, numbered with ids
that survive rewrites, recorded in the project database, edited by people, approved, and drawn as a board."""

from aigms.production.storyboard.approval import approve_shotlist, require_approved
from aigms.production.storyboard.ingest import (IngestReport, PlannedEpisode, ingest_episode, ingest_series,
                                                load_shotlist, plan_episode, read_episode, record_episode)
from aigms.production.storyboard.plan import Plan, apply_edits, plan_shots
from aigms.production.storyboard.timing import duration_report

__all__ = ["IngestReport", "Plan", "PlannedEpisode", "apply_edits", "approve_shotlist", "duration_report",
           "ingest_episode", "ingest_series", "load_shotlist", "plan_episode", "plan_shots", "read_episode",
           "record_episode", "require_approved"]
