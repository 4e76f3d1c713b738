"""The `signposting` command line: check knowledge, preview answers, chat from a terminal."""
from __future__ import annotations

import os
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Optional

import click

from signposting import knowledge as kb
from signposting import render

# click, not typer: spaCy 3.4 (Rasa's) pins typer<0.8, which does not work with today's click.


@click.group(help="Signpost: tools for content editors, advisers and developers.")
def app() -> None:
    pass


@app.group("knowledge", help="Check and preview the knowledge files.")
def knowledge_app() -> None:
    pass


@knowledge_app.command("check")
@click.option("--folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Knowledge folder (default: knowledge/).")
@click.option("--today", default=None, help="Check as if today were this date (YYYY-MM-DD).")
def knowledge_check(folder: Optional[Path], today: Optional[str]) -> None:
    """Validate every knowledge file; list every problem as file:line: field: message."""
    try:
        when = date.fromisoformat(today) if today else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today")
    problems, knowledge = kb.check(folder, when)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in errors + warnings:
        click.echo(str(problem), err=problem.severity == "error")
    if errors:
        click.echo(f"{len(errors)} error(s), {len(warnings)} warning(s): fix the errors above.", err=True)
        raise SystemExit(1)
    assert knowledge is not None
    click.echo(
        f"Knowledge OK: {len(knowledge.helplines)} helplines, {len(knowledge.topics)} topics, "
        f"{len(knowledge.assessment['domains'])} assessment domains, {len(knowledge.ended_schemes)} ended schemes, "
        f"{len(knowledge.postcode_areas)} postcode areas; {len(warnings)} warning(s)."
    )


@knowledge_app.command("preview")
@click.argument("topic")
@click.option("--nation", type=click.Choice(list(kb.NATIONS)), default=None, help="Show this nation's version.")
def knowledge_preview(topic: str, nation: Optional[str]) -> None:
    """Show the answer to a topic as the bot would send it."""
    try:
        knowledge = kb.load()
    except kb.KnowledgeError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1)
    intent = topic if topic in knowledge.topics else next(
        (t["intent"] for t in knowledge.topics.values() if t["id"] == topic), None)
    if intent is None:
        click.echo(f"No topic '{topic}'. Known: {', '.join(sorted(t['id'] for t in knowledge.topics.values()))}", err=True)
        raise SystemExit(2)
    for message in render.topic_answer(knowledge, intent, nation):
        click.echo(message.text)
        for number, button in enumerate(message.buttons, 1):
            click.echo(f"  {number}. {button.title}")
        click.echo("")


@app.command("chat")
@click.option("--url", default=lambda: os.environ.get("SIGNPOST_URL", "http://127.0.0.1:5005"), help="Rasa server.")
@click.option("--sender", default="", help="Conversation id (default: a new random one).")
def chat(url: str, sender: str) -> None:
    """Talk to a running Signpost from the terminal (buttons become numbered options)."""
    import httpx

    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: list[dict] = []
    click.echo("Signpost terminal chat. Type a message; a number picks an option; Ctrl-D to leave.\n")
    message = "/greet"
    with httpx.Client(base_url=url, timeout=60) as client:
        while True:
            try:
                response = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                click.echo(f"Cannot reach Signpost at {url} ({exc}). Is `make run` running?", err=True)
                raise SystemExit(1)
            buttons = []
            for reply in response.json():
                if reply.get("text"):
                    click.echo(f"Signpost: {reply['text']}")
                for button in reply.get("buttons", []):
                    buttons.append(button)
                    click.echo(f"  {len(buttons)}. {button['title']}")
            try:
                typed = input("You: ").strip()
            except (EOFError, KeyboardInterrupt):
                click.echo("\nGoodbye.")
                return
            if typed.isdigit() and 1 <= int(typed) <= len(buttons):
                message = buttons[int(typed) - 1]["payload"]
            else:
                message = typed or " "


def main() -> None:
    app()


if __name__ == "__main__":
    main()
