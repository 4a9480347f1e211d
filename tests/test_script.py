"""The Fountain parser against scripts whose answers are known, in English and Chinese."""

from pathlib import Path

import pytest

from aigms.production.script.fountain import parse_fountain, read_script
from aigms.schemas.errors import InputError


def elements(text: str) -> list:
    return parse_fountain(text).scenes[0].elements


def test_title_page_keys_are_lower_cased_and_multiline_values_joined() -> None:
    script = parse_fountain("Title: The Mask\nCredit: Written by\nAuthor:\n    Lin\n    Zhou\n\nINT. LAB - DAY\n\nHi.\n")
    assert script.title_page == {"title": "The Mask", "credit": "Written by", "author": "Lin\nZhou"}
    assert script.scenes[0].line == 7


@pytest.mark.parametrize(
    ("heading", "setting", "location", "time"),
    [
        ("INT. RESTORATION LAB - NIGHT", "INT", "RESTORATION LAB", "NIGHT"),
        ("EXT. DIG SITE – DAWN", "EXT", "DIG SITE", "DAWN"),
        ("INT./EXT. CAR - DAY", "INT/EXT", "CAR", "DAY"),
        ("I/E VAN - NIGHT", "INT/EXT", "VAN", "NIGHT"),
        ("EST. SANXINGDUI MUSEUM", "EST", "SANXINGDUI MUSEUM", None),
        (".外景 祭祀坑 - 夜", "EXT", "祭祀坑", "夜"),
        (".内景 修复室 夜", "INT", "修复室", "夜"),
        (".实验室——日", None, "实验室", "日"),
        (".FLASHBACK", None, "FLASHBACK", None),
    ],
)
def test_scene_headings_split_into_setting_place_and_time(heading: str, setting, location: str, time) -> None:
    scene = parse_fountain(f"{heading}\n\nSomething happens.\n").scenes[0]
    assert (scene.setting, scene.location, scene.time_of_day) == (setting, location, time)


def test_scene_number_is_taken_off_the_heading() -> None:
    scene = parse_fountain("INT. LAB - NIGHT #12A#\n\nHi.\n").scenes[0]
    assert (scene.heading, scene.number) == ("INT. LAB - NIGHT", "12A")


def test_heading_needs_a_blank_line_before_it() -> None:
    script = parse_fountain("INT. LAB - NIGHT\n\nShe reads.\nINT. HALL - DAY\n")
    assert len(script.scenes) == 1
    assert script.scenes[0].elements[0].text == "She reads.\nINT. HALL - DAY"


def test_action_paragraph_keeps_its_line_breaks_and_first_line() -> None:
    found = elements("INT. LAB\n\nThe mask hums.\nKai hovers.\n\n!FORCED ACTION\n")
    assert [(e.type, e.text, e.line) for e in found] == [
        ("action", "The mask hums.\nKai hovers.", 3),
        ("action", "FORCED ACTION", 6),
    ]


def test_dialogue_folds_extensions_and_contd_into_one_character() -> None:
    found = elements("INT. LAB\n\nZHOU (V.O.) (CONT'D)\n(quietly)\nThree thousand years.\nStill watching.\n")
    line = found[0]
    assert (line.type, line.character, line.extensions) == ("dialogue", "ZHOU", ["V.O."])
    assert line.parentheticals == ["quietly"]
    assert line.text == "Three thousand years.\nStill watching."
    assert line.line == 3


def test_forced_cue_reads_chinese_names_and_fullwidth_parentheticals() -> None:
    found = elements(".内景 修复室 - 夜\n\n@林月（画外音）\n（低声）\n凯，你看这个纹路。\n")
    assert (found[0].character, found[0].extensions, found[0].parentheticals, found[0].text) == (
        "林月", ["画外音"], ["低声"], "凯，你看这个纹路。"
    )


def test_chinese_name_without_at_is_action_not_a_cue() -> None:
    found = elements(".内景 修复室\n\n林月\n走进房间。\n")
    assert [e.type for e in found] == ["action"]


def test_dual_dialogue_marks_the_second_speaker() -> None:
    found = elements("INT. LAB\n\nLIN\nNow!\n\nKAI ^\nNow!\n")
    assert [(e.character, e.dual) for e in found] == [("LIN", False), ("KAI", True)]


def test_two_spaces_keep_a_dialogue_going() -> None:
    found = elements("INT. LAB\n\nKAI\nFirst verse.\n  \nSecond verse.\n")
    assert found[0].text == "First verse.\n\nSecond verse."


def test_transitions_plain_and_forced() -> None:
    found = elements("INT. LAB\n\nShe leaves.\n\nCUT TO:\n\nThey wait.\n\n> 叠化：\n\nDawn.\n\nFADE OUT.\n")
    assert [(e.type, e.text) for e in found if e.type == "transition"] == [
        ("transition", "CUT TO:"), ("transition", "叠化："), ("transition", "FADE OUT.")
    ]


def test_centered_lyrics_page_break_sections_and_synopses() -> None:
    text = "# ACT ONE\n\n## Dig\n\n= They find the mask.\n\nINT. LAB\n\n>THE END<\n\n~Bronze birds sing\n~in the dark\n\n===\n"
    script = parse_fountain(text)
    assert [(e.type, e.text, e.level) for e in script.preamble] == [
        ("section", "ACT ONE", 1), ("section", "Dig", 2), ("synopsis", "They find the mask.", None)
    ]
    assert [(e.type, e.text) for e in script.scenes[0].elements] == [
        ("centered", "THE END"), ("lyrics", "Bronze birds sing\nin the dark"), ("page_break", "")
    ]


def test_notes_standalone_and_inline_become_note_elements() -> None:
    text = "INT. LAB\n\n[[SHOT: CU mask, push in, 3s]]\n\nThe mask [[make it glow]] hums.\n\nKAI\nScanning. [[robotic]]\n"
    found = elements(text)
    assert [(e.type, e.text, e.line) for e in found] == [
        ("note", "SHOT: CU mask, push in, 3s", 3),
        ("action", "The mask  hums.", 5),
        ("note", "make it glow", 5),
        ("dialogue", "Scanning.", 7),
        ("note", "robotic", 8),
    ]


def test_note_spanning_lines_keeps_its_first_line() -> None:
    found = elements("INT. LAB\n\n[[a note\nover two lines]]\n\nAfter.\n")
    assert [(e.type, e.text, e.line) for e in found] == [("note", "a note over two lines", 3), ("action", "After.", 6)]


def test_boneyard_is_removed_and_later_lines_keep_their_numbers() -> None:
    found = elements("INT. LAB\n\n/* a cut scene\n\nKAI\nGone.\n*/\n\nStill here.\n")
    assert [(e.type, e.text, e.line) for e in found] == [("action", "Still here.", 9)]


def test_escapes_are_unescaped_and_emphasis_is_kept() -> None:
    found = elements("INT. LAB\n\n\\*not bold\\* but *italic* and **bold**\n")
    assert found[0].text == "*not bold* but *italic* and **bold**"


def test_crlf_and_tabs() -> None:
    found = elements("INT. LAB\r\n\r\nKAI\r\n\tHello.\r\n")
    assert (found[0].character, found[0].text, found[0].line) == ("KAI", "Hello.", 3)


def test_preamble_holds_what_comes_before_the_first_scene() -> None:
    script = parse_fountain("Cold open text.\n\nINT. LAB\n\nHi.\n")
    assert [(e.type, e.line) for e in script.preamble] == [("action", 1)]


def test_unclosed_boneyard_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ep.fountain"
    path.write_text("INT. LAB\n\nHi.\n\n/* cut\nmore\n")
    with pytest.raises(InputError) as error:
        read_script(path)
    assert error.value.line == 5 and str(path) in str(error.value) and "*/" in str(error.value)


def test_unclosed_note_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ep.fountain"
    path.write_text("INT. LAB\n\nHi [[note\n\nmore\n")
    with pytest.raises(InputError) as error:
        read_script(path)
    assert error.value.line == 3


def test_script_without_scene_heading_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ep.fountain"
    path.write_text("Just some text.\n")
    with pytest.raises(InputError, match="scene heading"):
        read_script(path)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ep.fountain"
    path.write_bytes("INT. LAB\n\n林月\n".encode("utf-8") + b"\xff\xfe bad\n")
    with pytest.raises(InputError) as error:
        read_script(path)
    assert error.value.line == 4 and "UTF-8" in str(error.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_script(tmp_path / "nope.fountain")
