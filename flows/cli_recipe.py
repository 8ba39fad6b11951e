"""`distill recipe explain`: every recipe field with its type, default and help (and a recipe's values)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from flows.errors import friendly

recipe_app = typer.Typer(help="Recipes: what each field means.", no_args_is_help=True)
console = Console()


@recipe_app.command("explain")
@friendly
def explain(recipe_arg: Annotated[str | None, typer.Argument(
                metavar="RECIPE", help="also show this recipe's values (name in recipes/ or a YAML path)")] = None,
            recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="the same, as an option")] = None,
            section: Annotated[str | None, typer.Option(help="only this section, e.g. train, teacher or top")] = None,
            fmt: Annotated[str, typer.Option("--format", help="table | vertical | markdown | csv | json")]
            = "table") -> None:
    """Every recipe field with its type, default and help (and a RECIPE's values).

    A note printed last says how relative paths in a recipe are resolved."""
    from flows.recipe import PROJECT_FOLDER, explain, load_recipe
    from flows.summary import check_format, print_rows

    check_format(fmt)
    if recipe_arg and recipe and recipe_arg != recipe:
        raise typer.BadParameter(f"two recipes given ({recipe_arg!r} and -r {recipe!r}): pass one")
    name = recipe or recipe_arg
    rows = explain(load_recipe(name) if name else None)
    if section:
        section = "(top)" if section == "top" else section
        known = list(dict.fromkeys(r["section"] for r in rows))
        rows = [r for r in rows if r["section"] == section or r["section"].startswith(f"{section} (")]
        if not rows:
            raise typer.BadParameter(f"no section {section!r}; use one of: {', '.join(known)}")
    print_rows(console, rows, fmt)
    if fmt in ("table", "vertical", "markdown"):
        print(f"\nnote: {PROJECT_FOLDER}.")
