"""Messages from Jinja2 templates, one per kind of message and language (``templates/<lang>/<kind>.txt``).

Each template defines a ``subject`` and a ``body`` block. The filters ``rupiah``, ``datetime`` and
``date`` format for Indonesian readers in the template's language; an unknown variable is an error
(StrictUndefined), so a template and its context cannot drift apart silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from markupsafe import escape

from eproc_notify.domain.formatting import LANGUAGES, jakarta_date, jakarta_datetime, rupiah

TEMPLATES = Path(__file__).parent / "templates"
FOOTER = {
    "id": "Pesan ini dikirim otomatis oleh LPSE Kota Tangerang. Atur notifikasi Anda di portal.",
    "en": "This message was sent automatically by LPSE Kota Tangerang. Manage your notifications on the portal.",
}
OPEN = {"id": "Buka", "en": "Open"}


@dataclass(frozen=True)
class Message:
    kind: str
    language: str
    subject: str
    body: str
    link: str | None = None

    def text(self) -> str:
        parts = [self.body.rstrip()]
        if self.link:
            parts.append(f"{OPEN[self.language]}: {self.link}")
        parts.append("-- \n" + FOOTER[self.language])
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        paragraphs = "".join(
            f"<p>{str(escape(block)).replace(chr(10), '<br>')}</p>" for block in self.body.strip().split("\n\n")
        )
        link = f'<p><a href="{escape(self.link)}">{OPEN[self.language]}</a></p>' if self.link else ""
        return (
            f'<!doctype html><html lang="{self.language}"><head><meta charset="utf-8">'
            f"<title>{escape(self.subject)}</title></head><body>{paragraphs}{link}"
            f'<hr><p style="color:#666;font-size:small">{escape(FOOTER[self.language])}</p></body></html>'
        )


class Renderer:
    def __init__(self, templates: Path = TEMPLATES) -> None:
        self.environments: dict[str, Environment] = {}
        for language in LANGUAGES:
            env = Environment(
                loader=FileSystemLoader(templates / language),
                undefined=StrictUndefined,
                autoescape=False,  # plain text; html() escapes
                keep_trailing_newline=True,
            )
            env.filters["rupiah"] = rupiah
            env.filters["datetime"] = lambda when, _lang=language: jakarta_datetime(when, _lang)
            env.filters["date"] = lambda day, _lang=language: jakarta_date(day, _lang)
            self.environments[language] = env

    def kinds(self, language: str) -> list[str]:
        return sorted(name.removesuffix(".txt") for name in self.environments[language].list_templates())

    def render(self, kind: str, language: str, context: dict[str, Any], link: str | None = None) -> Message:
        if language not in self.environments:
            raise ValueError(f"no templates in language {language!r}")
        env = self.environments[language]
        try:
            template = env.get_template(f"{kind}.txt")
        except TemplateNotFound as exc:
            raise LookupError(f"no {language} template for {kind}") from exc
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx)).strip()
        body = "".join(template.blocks["body"](template.new_context(context))).strip()
        return Message(kind=kind, language=language, subject=" ".join(subject.split()), body=body, link=link)
