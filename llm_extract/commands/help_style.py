"""Help screens that read like a command line's: no type tags on flags or arguments.

Typer labels every parameter with its Python type: `--force <bool>` (which invites `--force
true`), `paths... <list[Path]>`, and `{paths}...` in the usage line. The group below gives each
command's parameters plainer labels when the command is looked up: flags none, arguments their
name (PATHS...), other options an upper-case value name (PATH, INT, TEXT) or their metavar.
"""

from __future__ import annotations

from typing import Any, Optional

from typer.core import TyperArgument, TyperGroup, TyperOption

_VALUE_NAMES = {"str": "TEXT", "int": "INT", "float": "NUMBER", "path": "PATH", "file": "FILE",
                "directory": "FOLDER"}


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> Optional[str]:
        return None  # the argument's name says it

    def _usage_display_name(self) -> str:
        name = self.display_name_raw.upper() + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> Optional[str]:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        label = (self.display_type(ctx) or "").strip("<>")
        name = _VALUE_NAMES.get(label.lower(), label.upper())
        return name + ("..." if self.nargs != 1 else "")


def _plain(params: Any) -> Any:
    for p in params:
        if type(p) is TyperArgument:
            p.__class__ = _PlainArgument
        elif type(p) is TyperOption:
            p.__class__ = _PlainOption
    return params


def plain_labels(command: Any) -> Any:
    """Give `command`'s parameters, its --help option included, the plain labels (idempotent)."""
    if command is not None and not getattr(command, "_plain_labels", False):
        get_params = command.get_params
        command.get_params = lambda ctx: _plain(get_params(ctx))
        command._plain_labels = True
    return command


class PlainHelpGroup(TyperGroup):
    """The app's command group: it and every command it hands out have plain help labels."""

    def get_params(self, ctx: Any) -> Any:
        return _plain(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return plain_labels(super().get_command(ctx, cmd_name))
