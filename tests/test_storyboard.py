"""The storyboard planner on scripts with known answers: coverage, markup, timing, segments and prompts."""

from pathlib import Path

import pytest

from aigms.production.bible import load_series
from aigms.production.script.fountain import parse_fountain
from aigms.production.storyboard.plan import plan_shots
from aigms.production.storyboard.timing import duration_report, speaking_time
from aigms.schemas.errors import InputError
from aigms.schemas.series import EpisodeRef, Series
from aigms.schemas.shotlist import Shot
from builders import tiny_series

ENGLISH = """EXT. VALLEY - DAY

Thunder rolls across the valley.

INT. LAB - NIGHT

Lin waits by the bench.

LIN
Kai, are you there?

KAI
Always. I have been watching the pattern for four hours and it has not changed once.

LIN
(whispering)
Then show me.

The progress bar on the screen creeps to ninety percent.
[[SHOT: CU progress bar, push in, 3s]]

DISSOLVE TO:

.实验室 - 夜
[[SHOT: EWS, overhead]]

WOMAN
Who left the light on?

LIN
(beat)
I did.
"""

CHINESE = """.外景 山谷 - 日

雷声滚过山谷。

.内景 实验室 - 夜

@林
凯，你在吗？

@KAI
在。

面具的眼睛亮起微光。
[[镜头:特写面具,缓慢推进,6秒]]

> 淡出
"""


@pytest.fixture
def series(tmp_path: Path) -> Series:
    series = tiny_series(tmp_path)
    series.episodes.append(EpisodeRef(id="s01e01", script=Path("e.fountain")))
    series.episodes.append(EpisodeRef(id="s01e02", script=Path("z.fountain"), language="zh"))
    return series


def plan(series: Series, text: str, episode: str = "s01e01") -> list[Shot]:
    return plan_shots(parse_fountain(text), series, episode, Path("e.fountain")).shotlist.shots


def test_every_scene_opens_on_an_establishing_shot_of_its_location(series: Series) -> None:
    shots = plan(series, ENGLISH)
    per_scene = [[s.kind for s in shots if s.scene == n] for n in (1, 2, 3)]
    assert per_scene == [
        ["establishing", "action"],
        ["establishing", "action", "dialogue", "dialogue", "dialogue", "action"],
        ["establishing", "dialogue", "dialogue"],
    ]
    openings = [s for s in shots if s.kind == "establishing"]
    assert [(s.size, s.location) for s in openings[:2]] == [("EWS", None), ("WS", "lab")]
    assert [s.id for s in shots] == [f"{10 * n:03d}" for n in range(1, 12)]


def test_dialogue_is_covered_by_length_emotion_and_exchange(series: Series) -> None:
    lines = [s for s in plan(series, ENGLISH) if s.kind == "dialogue"]
    first, answer, whisper = lines[:3]
    assert (first.framing, first.size, first.characters) == ("two-shot", "MS", ["lin", "kai"])
    assert (answer.framing, answer.size, answer.characters) == ("over-the-shoulder", "MCU", ["kai", "lin"])
    assert (whisper.framing, whisper.size, whisper.emotion) == ("single", "CU", "whispering")
    assert [s.speaker for s in lines] == ["lin", "kai", "lin", "extra:WOMAN", "lin"]
    assert [s.dialogue for s in lines] == [["050-1"], ["060-1"], ["070-1"], ["100-1"], ["110-1"]]


def test_action_is_framed_by_what_it_describes(series: Series) -> None:
    actions = {s.text: s for s in plan(series, ENGLISH) if s.kind == "action"}
    assert actions["Thunder rolls across the valley."].size == "EWS"
    assert (actions["Lin waits by the bench."].size, actions["Lin waits by the bench."].characters) == ("MS", ["lin"])
    insert = actions["The progress bar on the screen creeps to ninety percent."]
    assert insert.framing == "insert"


def test_markup_sets_size_subject_move_and_duration_of_the_shot_it_follows(series: Series) -> None:
    shots = plan(series, ENGLISH)
    insert = next(s for s in shots if s.text.startswith("The progress bar"))
    assert (insert.size, insert.subject, insert.move, insert.duration) == ("CU", "progress bar", "push-in", 3.0)
    assert set(insert.edited) == {"size", "subject", "move", "duration"}
    assert (insert.min_duration, insert.max_duration) == (3.0, 3.0)
    after_heading = next(s for s in shots if s.scene == 3)
    assert (after_heading.kind, after_heading.size, after_heading.angle) == ("establishing", "EWS", "overhead")


def test_chinese_markup_and_transitions(series: Series) -> None:
    shots = plan_shots(parse_fountain(CHINESE), series, "s01e02", Path("z.fountain")).shotlist
    mask = shots.shots[-1]
    assert (mask.size, mask.subject, mask.move, mask.pace, mask.duration) == ("CU", "面具", "push-in", "slow", 6.0)
    assert shots.ending == "fade_out"
    assert [s.transition for s in shots.shots] == ["cut"] * len(shots.shots)
    english = plan(series, ENGLISH)
    assert [s.transition for s in english if s.transition != "cut"] == ["dissolve"]
    assert next(s for s in english if s.transition == "dissolve").kind == "establishing"


def test_unknown_markup_word_is_an_error_with_its_line(series: Series) -> None:
    script = ENGLISH.replace("push in, 3s", "dolly zoom, 3s")
    with pytest.raises(InputError) as error:
        plan(series, script)
    assert error.value.line == 20 and "dolly zoom" in str(error.value)
    with pytest.raises(InputError, match="'飞过'"):
        plan(series, CHINESE.replace("缓慢推进", "飞过"), "s01e02")


def test_dialogue_is_timed_by_characters_in_chinese_and_words_in_english(series: Series) -> None:
    rate = series.characters["lin"].voice.rate
    chinese = next(s for s in plan(series, CHINESE, "s01e02") if s.speaker == "lin")
    # 凯，你在吗？ — 4 syllables, one comma, one question mark, half a second of air.
    expected = 4 / (rate / 60) + 0.25 + 0.45 + 0.5
    assert chinese.duration == pytest.approx(expected, abs=1 / 24)
    english = next(s for s in plan(series, ENGLISH) if s.text == "Kai, are you there?")
    assert english.duration == pytest.approx(4 / (rate / 60) + 0.25 + 0.45 + 0.5, abs=1 / 24)
    assert speaking_time("I did.", rate, ["beat"]) == pytest.approx(speaking_time("I did.", rate) + 1.0)
    assert all(abs(s.duration * 24 - round(s.duration * 24)) < 1e-9 for s in plan(series, ENGLISH))


def test_a_long_shot_is_a_chain_of_segments_each_with_its_own_prompt(series: Series) -> None:
    shots = plan(series, ENGLISH.replace("push in, 3s", "push in, 14s"))
    insert = next(s for s in shots if s.subject == "progress bar")
    assert [(seg.start, seg.duration, seg.mode) for seg in insert.segments] == [
        (0.0, 5.0, "i2v"), (5.0, 5.0, "extend"), (10.0, 4.0, "extend")
    ]
    assert insert.mode == "chain"
    prompts = [seg.prompt for seg in insert.segments]
    assert len(set(prompts)) == 3 and all(p.startswith("flat colours.") for p in prompts)
    assert "close-up" in prompts[0] and "progress bar" in prompts[0] and "Continuing the shot (2/3)" in prompts[1]
    series.storyboard.segment_seconds = 4
    shorter = next(s for s in plan(series, ENGLISH.replace("push in, 3s", "push in, 14s")) if s.subject == "progress bar")
    assert [seg.duration for seg in shorter.segments] == [4.0, 4.0, 4.0, 2.0]


def test_prompts_combine_style_location_looks_and_action(series: Series) -> None:
    series.characters["lin"].description = "red coat"
    line = next(s for s in plan(series, ENGLISH) if s.text == "Kai, are you there?")
    assert line.prompt.startswith("flat colours. medium shot, two-shot")
    assert "LAB" in line.prompt and "LIN: red coat" in line.prompt and 'LIN speaks: "Kai, are you there?"' in line.prompt


def test_keyframe_policy_decides_text_or_image_to_video(series: Series) -> None:
    assert {s.segments[0].mode for s in plan(series, ENGLISH) if s.location == "lab"} == {"i2v"}
    series.storyboard.keyframes = "never"
    assert {s.segments[0].mode for s in plan(series, ENGLISH)} == {"t2v"}


def test_dual_dialogue_shares_one_two_shot(series: Series) -> None:
    script = "INT. LAB - DAY\n\nLIN\nNow!\n\nKAI ^\nNow!\n"
    shots = plan(series, script)
    assert [(s.kind, s.framing, s.characters, s.dialogue, s.lines) for s in shots[1:]] == [
        ("dialogue", "two-shot", ["lin", "kai"], ["020-1", "020-2"], [3, 6])
    ]


def everything_wide(shots: list[Shot], context) -> list[Shot]:
    """A studio's own rule, named in series.yaml as test_storyboard:everything_wide."""
    for shot in shots:
        shot.size = "WS"
    return shots


def test_rules_are_chosen_and_ordered_in_the_bible(series: Series) -> None:
    series.storyboard.rules = ["dialogue_coverage", "test_storyboard:everything_wide"]
    shots = plan(series, ENGLISH)
    assert "establishing" not in {s.kind for s in shots}
    assert {s.size for s in shots if "size" not in s.edited} == {"WS"}
    series.storyboard.rules = ["no_such_rule"]
    with pytest.raises(InputError, match="no_such_rule"):
        plan(series, ENGLISH)


def test_runtime_is_reported_against_the_target_with_the_slack(series: Series) -> None:
    shots = plan(series, ENGLISH)
    report = duration_report(shots, 240.0)
    assert report.total == pytest.approx(sum(s.duration for s in shots), abs=0.001)
    assert report.target == 240.0
    insert = next(s for s in shots if s.subject == "progress bar")
    assert insert.id not in report.can_stretch and insert.id not in report.can_shrink
    assert all(report.can_stretch[s.id] > 0 for s in shots if s.kind == "dialogue")
    assert all(s.id not in report.can_shrink for s in shots if s.kind == "dialogue")


def test_uncast_extra_warns_and_strict_refuses(series: Series) -> None:
    result = plan_shots(parse_fountain(ENGLISH), series, "s01e01", Path("e.fountain"))
    assert result.warnings == [
        "e.fountain:1: no location in the bible matches 'VALLEY'; add it (or an alias) to series.yaml",
        "e.fountain:27: character 'WOMAN' is not in the bible; cast as an uncast extra",
    ]
    with pytest.raises(InputError) as error:
        plan_shots(parse_fountain(ENGLISH), series, "s01e01", Path("e.fountain"), strict=True)
    assert error.value.line == 27


def test_bible_error_points_at_the_yaml_line(tmp_path: Path) -> None:
    (tmp_path / "series.yaml").write_text("id: show\ntitle: Show\ncharacters:\n  lin:\n    name: LIN\n    voice: {rate: 9000}\n")
    with pytest.raises(InputError) as error:
        load_series(tmp_path)
    assert error.value.line == 6 and "characters.lin.voice.rate" in str(error.value)


def test_bible_refuses_unknown_keys_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "series.yaml").write_text("id: show\ntitle: Show\ndelivary: {}\n")
    with pytest.raises(InputError) as error:
        load_series(tmp_path)
    assert error.value.line == 3
    (tmp_path / "series.yaml").write_text("id: show\ntitle: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_series(tmp_path)


def test_the_demo_episodes_plan_as_a_storyboard_artist_would_draw_them() -> None:
    from aigms.production.storyboard.ingest import read_episode

    example = load_series(Path(__file__).resolve().parent.parent / "examples" / "bronze-echoes")
    chinese = read_episode(example, "s01e01").plan.shotlist
    assert [[s.kind for s in chinese.shots if s.scene == n] for n in (1, 2)] == [
        ["establishing", "action", "dialogue", "dialogue", "action", "dialogue"],
        ["establishing", "action", "dialogue", "action", "dialogue"],
    ]
    assert [s.speaker for s in chinese.shots if s.kind == "dialogue"] == ["lin-yue", "kai", "lin-yue", "zhou", "kai"]
    whisper = chinese.shots[2]
    assert (whisper.emotion, whisper.size) == ("低声", "CU")
    assert chinese.shots[3].framing == "over-the-shoulder" and chinese.shots[3].characters == ["kai", "lin-yue"]
    assert (chinese.shots[6].transition, chinese.ending) == ("dissolve", "fade_out")
    mask = chinese.shots[9]
    assert (mask.framing, mask.size, mask.subject) == ("insert", "CU", "眼睛")
    english = read_episode(example, "s01e02").plan.shotlist
    assert len(english.shots) == 11 and english.shots[2].framing == "two-shot"
    assert 30 < chinese.duration < 60 and 30 < english.duration < 60
