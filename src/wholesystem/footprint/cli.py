"""`wholesystem footprint ...`: load and show the footprint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.tree import Tree

__all__ = ["register"]

err = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    """Add the `footprint` commands to the top-level CLI."""
    fp = typer.Typer(
        help="The system → place → neighbourhood → practice tree.", no_args_is_help=True
    )

    @fp.command("load")
    def load(
        path: Annotated[Path, typer.Argument(help="A footprint JSON file.")],
    ) -> None:
        """Load a footprint file; entries it no longer lists are deactivated."""
        from wholesystem.config import get_settings
        from wholesystem.footprint.pipeline import FootprintError, load_footprint_file
        from wholesystem.store.db import open_database

        try:
            with open_database(get_settings().resolved_database_url) as factory:
                message = load_footprint_file(factory, path)
        except FootprintError as exc:
            err.print(f"[red]Footprint not loaded.[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        out.print(f"Footprint loaded: {message}", highlight=False, soft_wrap=True)

    @fp.command("show")
    def show() -> None:
        """Print the tree with populations."""
        from wholesystem.config import get_settings
        from wholesystem.footprint.queries import AreaNode, footprint_tree
        from wholesystem.store.db import open_database

        with open_database(get_settings().resolved_database_url) as factory, factory() as session:
            root = footprint_tree(session)
        if root is None:
            err.print("No footprint has been loaded. Use `wholesystem footprint load FILE`.")
            raise typer.Exit(1)

        def add(branch: Tree, node: AreaNode) -> None:
            for child in node.children:
                add(branch.add(f"{child.name} ({child.code}) — {child.population:,}"), child)

        tree = Tree(f"{root.name} ({root.code}) — {root.population:,}")
        add(tree, root)
        out.print(tree)

    app.add_typer(fp, name="footprint")
