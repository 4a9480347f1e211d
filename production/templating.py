"""The Jinja2 environments over `templates/`: prompts are plain text, pages are HTML and escape what they show
(a script line may well contain `<`)."""

import functools
from importlib import resources

import jinja2


def _loader() -> jinja2.FileSystemLoader:
    return jinja2.FileSystemLoader(str(resources.files("aigms.templates")))


@functools.cache
def prompts() -> jinja2.Environment:
    return jinja2.Environment(loader=_loader(), autoescape=False, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


@functools.cache
def pages() -> jinja2.Environment:
    return jinja2.Environment(loader=_loader(), autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
