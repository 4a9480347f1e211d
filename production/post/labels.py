"""AIGC labels (《人工智能生成合成内容标识办法》, GB 45438-2025; EU AI Act art. 50): the implicit label written into
the MP4 as the standard's `AIGC` metadata item, and reading back what a delivered file carries. The explicit,
visible label is drawn by the edit (`aigms.production.post.edit`); its settings travel in our own `aigms` tag so a
file says what it showed.

The producer's integrity field, `ReservedCode1`, holds the sha256 of the picture (the video stream's packets), so
anyone can check that the labelled picture is the one the producer made."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigms.production.store import media
from aigms.production.store.assets import canonical_sha256
from aigms.schemas.timeline import Timeline

AIGC_KEY = "AIGC"
AIGMS_KEY = "aigms"
AIGC_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
               "ReservedCode2")
HASH_PREFIX = "sha256:"


def timeline_sha256(timeline: Timeline) -> str:
    """The edit's identity: every decision and every media hash, not where the files happened to lie."""
    data = timeline.model_dump(mode="json")
    for clip in [*data["picture"], *data["dialogue"], *([data["music"]] if data["music"] else [])]:
        clip["media"].pop("path")
    return canonical_sha256(data)


def aigc_label(timeline: Timeline, picture_sha256: str) -> dict[str, str]:
    implicit = timeline.implicit_label
    return {
        "Label": implicit.label,
        "ContentProducer": timeline.content_producer,
        "ProduceID": f"aigms:{timeline.series}:{timeline.episode}:{timeline_sha256(timeline)[:32]}",
        "ReservedCode1": HASH_PREFIX + picture_sha256,
        "ContentPropagator": implicit.content_propagator,
        "PropagateID": implicit.propagate_id,
        "ReservedCode2": implicit.reserved_code2,
    }


def file_tags(timeline: Timeline, aigc: dict[str, str]) -> dict[str, str]:
    """The MP4's global metadata: the standard's item, and ours describing the visible label."""
    ours = {"series": timeline.series, "episode": timeline.episode,
            "visible_label": timeline.label.model_dump(mode="json")}
    return {AIGC_KEY: json.dumps(aigc, ensure_ascii=False, separators=(",", ":")),
            AIGMS_KEY: json.dumps(ours, ensure_ascii=False, separators=(",", ":"))}


@dataclass
class LabelReport:
    """What a file carries, and what is wrong with it; `ok` when the implicit label is complete and true."""

    path: Path
    aigc: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    picture_sha256: str | None = None
    picture_matches: bool | None = None
    visible_label: dict[str, Any] | None = None
    subtitles: list[dict[str, str]] = field(default_factory=list)
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.aigc is not None and not self.missing and not self.problems


def inspect(path: Path) -> LabelReport:
    data = media.ffprobe_json(path, "-show_format", "-show_streams")
    tags = data.get("format", {}).get("tags", {})
    report = LabelReport(path=path, duration=float(data.get("format", {}).get("duration", 0.0)))
    report.subtitles = [
        {"codec": stream.get("codec_name", ""), "language": stream.get("tags", {}).get("language", "")}
        for stream in data.get("streams", []) if stream.get("codec_type") == "subtitle"
    ]
    raw = tags.get(AIGC_KEY)
    if raw is None:
        report.problems.append("no implicit AIGC label (metadata item `AIGC`)")
    else:
        try:
            report.aigc = json.loads(raw)
        except json.JSONDecodeError:
            report.problems.append("the AIGC item is not JSON")
    if isinstance(report.aigc, dict):
        report.missing = [name for name in AIGC_FIELDS if name not in report.aigc]
        if not str(report.aigc.get("Label", "")).strip():
            report.problems.append("the AIGC item's Label is empty")
        code = str(report.aigc.get("ReservedCode1", ""))
        if code.startswith(HASH_PREFIX) and any(s.get("codec_type") == "video" for s in data.get("streams", [])):
            report.picture_sha256 = media.picture_sha256(path)
            report.picture_matches = code.removeprefix(HASH_PREFIX) == report.picture_sha256
            if not report.picture_matches:
                report.problems.append("the picture is not the one the label was written for (ReservedCode1)")
    elif report.aigc is not None:
        report.problems.append("the AIGC item is not a JSON object")
        report.aigc = None
    try:
        report.visible_label = json.loads(tags.get(AIGMS_KEY, "{}")).get("visible_label")
    except (json.JSONDecodeError, AttributeError):
        report.visible_label = None
    return report
