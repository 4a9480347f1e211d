"""The user-facing files of aigms as pydantic models: what a person writes (series bible, shot list edits) and
what the pipeline hands back (parsed script, manifest). Each exports a JSON Schema through `SCHEMAS`."""

from aigms.schemas.errors import InputError
from aigms.schemas.manifest import Manifest
from aigms.schemas.script import Element, Scene, Script
from aigms.schemas.series import Character, Delivery, EpisodeRef, GeneratorSettings, Location, Series, Voice
from aigms.schemas.shotlist import Shot, ShotEdit, ShotList

SCHEMAS = {
    "series": Series,
    "script": Script,
    "shotlist": ShotList,
    "shot-edit": ShotEdit,
    "manifest": Manifest,
}

__all__ = [
    "SCHEMAS",
    "Character",
    "Delivery",
    "Element",
    "EpisodeRef",
    "GeneratorSettings",
    "InputError",
    "Location",
    "Manifest",
    "Scene",
    "Script",
    "Series",
    "Shot",
    "ShotEdit",
    "ShotList",
    "Voice",
]
