"""The script stage: Fountain screenplays parsed into `Script`, every element with its source line, and the shot
markup a writer puts in script notes."""

from aigms.production.script.fountain import parse_fountain, read_script
from aigms.production.script.markup import is_markup, parse_markup

__all__ = ["is_markup", "parse_fountain", "parse_markup", "read_script"]
