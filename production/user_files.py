"""Reading what a person (or anyone who sends one a file) wrote: series.yaml, scripts, shot-list imports, manifests
and the images a bible names are untrusted input. Each is bounded in size, decoded as UTF-8 without control
characters, parsed as YAML without alias bombs or duplicate keys, and every path it names is kept inside its
folder; a refusal is an `InputError` naming the file, the line and the fix, before any work starts."""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, UnidentifiedImageError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.cyaml import CParser
from yaml.resolver import Resolver

from aigms.schemas.errors import InputError

MIB = 1 << 20
# The biggest real files are far below these: a feature script is ~200 KB, a 2,000-shot list ~0.7 MB.
BIBLE_BYTES, SCRIPT_BYTES, SHOTLIST_BYTES, MANIFEST_BYTES = 1 * MIB, 4 * MIB, 8 * MIB, 64 * MIB
MAX_LINE_CHARS = 10_000
# YAML values once aliases are expanded, and nesting: a series.yaml holds a few thousand values, a 2,000-shot list
# about 80,000, neither is nested ten deep.
BIBLE_VALUES, SHOTLIST_VALUES, MAX_YAML_DEPTH = 50_000, 250_000, 32
# Reference images: an 8K frame is 33 Mpixel; a PNG that claims more is a decompression bomb, not a reference.
MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS = 16_384, 40_000_000

# C0 and C1 control characters except tab, line feed and carriage return; lone surrogates (only YAML and JSON
# escapes can make them) cannot be written back as UTF-8.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
NEWLINE = re.compile(r"\r\n|\r|\n")
CONTROL_FIX = "delete it (pasted text often carries invisible characters); save the file as plain UTF-8 text"
IMAGE_TYPES = {"PNG": (".png", "image/png"), "JPEG": (".jpg", "image/jpeg"), "WEBP": (".webp", "image/webp")}


def read_text(path: Path, limit: int, what: str) -> str:
    """A text file a person wrote, whole: refused if larger than `limit`, not UTF-8 or holding control characters."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, f"{what} not found", "check the path")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(path, None, f"{what} is larger than the {limit / MIB:.0f} MiB allowed",
                         "check it is the right file; split it if it really is this long")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(path, line, "not valid UTF-8", f"save the {what} as UTF-8") from None
    check_text(path, text)
    return text


def check_text(path: Path | str, text: str) -> None:
    """No control characters (NUL, escape, …): they fail late in a database, a subtitle or a synthesiser."""
    if match := CONTROL.search(text):
        before = NEWLINE.split(text[: match.start()])
        line, column = len(before), len(before[-1]) + 1
        raise InputError(path, line, f"control character {describe_char(match.group())} in column {column}",
                         CONTROL_FIX)


def describe_char(char: str) -> str:
    names = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL", "\x85": "NEL"}
    return f"U+{ord(char):04X}" + (f" ({names[char]})" if char in names else "")


def check_lines(path: Path | str, text: str) -> None:
    """A line longer than any written by hand is a pasted blob; it would also make the parser crawl."""
    for number, line in enumerate(NEWLINE.split(text), 1):
        if len(line) > MAX_LINE_CHARS:
            raise InputError(path, number, f"line of {len(line):,} characters, more than {MAX_LINE_CHARS:,}",
                             "break it into paragraphs")


class _BoundedLoader(Composer, CParser, SafeConstructor, Resolver):
    """PyYAML's safe loader, counting as it composes: a value's size is its expanded size (an alias counts all it
    stands for), so a 1 KB "billion laughs" is refused after a few thousand nodes instead of filling memory. libyaml
    scans and parses (six times faster than PyYAML's own parser on a 2,000-shot list); the composer is PyYAML's,
    so it can count."""

    def __init__(self, text: str, path: Path | str, max_values: int) -> None:
        CParser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.path = path
        self.max_values = max_values
        self.values = 0
        self.depth = 0
        self.sizes: dict[int, tuple[int, int]] = {}

    def refuse(self, node_or_mark: Any, problem: str, fix: str) -> None:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        raise InputError(self.path, mark.line + 1 if mark else None, problem, fix)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            if id(node) not in self.sizes:
                self.refuse(event, f"alias *{event.anchor} is inside the value it names",
                            "write the value out instead of an alias")
            self.count(event, self.sizes[id(node)][0])
            return node
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                self.refuse(self.peek_event(), f"nested more than {MAX_YAML_DEPTH} levels deep", "flatten it")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def count(self, where: Any, values: int) -> None:
        """Values so far, an alias counting all it stands for: the work is bounded, not only the result."""
        self.values += values
        if self.values > self.max_values:
            self.refuse(where, f"more than {self.max_values:,} values (aliases count what they repeat)",
                        "check it is the right file; write values out rather than nesting aliases")

    def _measured(self, node: Any, children: list[Any]) -> Any:
        measured = [self.sizes[id(child)] for child in children]
        size = 1 + sum(values for values, _ in measured)
        depth = 1 + max((levels for _, levels in measured), default=0)
        self.count(node, 1)
        if depth > MAX_YAML_DEPTH:
            self.refuse(node, f"nested more than {MAX_YAML_DEPTH} levels deep (through aliases)", "flatten it")
        self.sizes[id(node)] = (size, depth)
        return node

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        if match := CONTROL.search(node.value):
            self.refuse(node, f"control character {describe_char(match.group())} in a value", CONTROL_FIX)
        return self._measured(node, [])

    def compose_sequence_node(self, anchor: Any) -> Any:
        node = super().compose_sequence_node(anchor)
        return self._measured(node, node.value)

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                first = seen.setdefault((key.tag, key.value), key.start_mark.line + 1)
                if first != key.start_mark.line + 1:
                    self.refuse(key, f"key {key.value!r} appears twice in one mapping (first on line {first})",
                                "keep one of them")
        return self._measured(node, [part for pair in node.value for part in pair])

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as error:
            self.refuse(node, f"cannot read this value ({error})", "write it as plain text or a number")


def load_yaml(path: Path | str, text: str, max_values: int) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one bounded parse."""
    loader = _BoundedLoader(text, path, max_values)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        last = len(NEWLINE.split(text))  # libyaml marks the end of the text one line further down
        raise InputError(path, min(mark.line + 1, last) if mark else None, f"not valid YAML ({problem})",
                         "fix the indentation or quoting there") from None
    finally:
        loader.dispose()


def yaml_line(node: yaml.Node | None, location: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node on the path that exists; pydantic knows keys, YAML knows lines."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def inside(root: Path, named: Path | str) -> Path | None:
    """Where a path named in a series file really leads (symlinks followed), or None when that is outside `root`."""
    path = (Path(root) / named).resolve()
    return path if path.is_relative_to(Path(root).resolve()) else None


@dataclass(frozen=True)
class ImageType:
    format: str
    suffix: str
    content_type: str
    width: int
    height: int


def image_type(path: Path) -> ImageType:
    """What a reference image is, from its bytes: PNG, JPEG or WebP that decodes completely within the size
    limits. Raises ValueError saying what is wrong; an SVG, HTML or text file is not an image."""
    stat = Path(path).stat()
    return _image_type(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@lru_cache(maxsize=1024)
def _image_type(path: str, size: int, mtime_ns: int, inode: int) -> ImageType:
    """Cached by the file's identity: every command loads the bible, and decoding its images costs ~50 ms each."""
    try:
        with Image.open(path, formats=list(IMAGE_TYPES)) as image:
            width, height, form = image.width, image.height, image.format
            if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{width}×{height} pixels is more than a reference needs (at most "
                                 f"{MAX_IMAGE_SIDE} a side and {MAX_IMAGE_PIXELS // 1_000_000} Mpixel)")
            image.verify()
        with Image.open(path, formats=[form]) as image:
            image.load()
    except UnidentifiedImageError:
        raise ValueError("is not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"does not decode as an image ({error})") from None
    suffix, content_type = IMAGE_TYPES[form]
    return ImageType(form, suffix, content_type, width, height)
