"""Command-line options made from the one :class:`~kfx.config.Config`, so both say the same."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Optional

from kfx.config import Config


def _field_help() -> dict[str, str]:
    """Each field's help text, written beside the field in :class:`~kfx.config.Config`."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(Config)}


def add_config_arguments(
    parser: argparse.ArgumentParser,
    names: Iterable[str],
    title: str = "options",
    helps: Optional[Mapping[str, str]] = None,
) -> None:
    """Adds ``--field-name`` options for the named Config fields (defaults shown from Config); ``helps``
    replaces the help of a field whose meaning the command narrows (``kfx predict``'s ``--source``)."""
    helps = {**_field_help(), **(helps or {})}
    defaults = Config()
    fields = {f.name: f for f in dataclasses.fields(Config)}
    group = parser.add_argument_group(title)
    for name in names:
        default = getattr(defaults, name)
        flags = flag_names(fields[name])
        help_text = helps.get(name, "")
        if fields[name].metadata.get("repeat"):  # --trainer-arg KEY=VALUE, once per value
            group.add_argument(*flags, dest=name, action="append", default=None, metavar="KEY=VALUE", help=help_text)
        elif isinstance(default, bool):
            group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif isinstance(default, list):
            group.add_argument(
                *flags,
                dest=name,
                default=None,
                metavar="A,B",
                type=lambda v: [s.strip() for s in v.split(",") if s.strip()],
                help=help_text,
            )
        else:
            kind = type(default) if default is not None else str
            metavar = fields[name].metadata.get("metavar") or {int: "N", float: "X"}.get(kind, name.upper())
            group.add_argument(*flags, dest=name, type=kind, default=None, metavar=metavar, help=help_text)


def flag_names(field: dataclasses.Field) -> list[str]:
    """A field's options: ``--field-name``, after the shorter name its metadata gives (``flag``), if any
    (``enable_caching`` is ``--cache`` / ``--no-cache``, and still ``--enable-caching``)."""
    flags = ["--" + field.name.replace("_", "-")]
    if field.metadata.get("flag"):
        flags.insert(0, "--" + field.metadata["flag"])
    return flags


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    """The Config the parsed options describe (unset options keep ``base``'s or the default values)."""
    values = dataclasses.asdict(base or Config())
    names = {f.name for f in dataclasses.fields(Config)}
    values.update({k: v for k, v in vars(args).items() if k in names and v is not None})
    return Config.from_mapping(values)
