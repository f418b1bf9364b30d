"""Message catalogs of wagtail-plugin-system: regenerate them, or check them.

    python scripts/translations.py update   # makemessages, then compile every .po to .mo
    python scripts/translations.py check    # fail when a catalog is incomplete or stale

``update`` runs Django's ``makemessages`` from the package directory for every
shipped language (new strings arrive untranslated or fuzzy: translate them and
remove the fuzzy flags), then compiles every catalog.

``check`` changes nothing in the tree. It runs ``makemessages`` on a temporary
copy of the package to get the template of every msgid in the source, then
fails when, for any shipped language:

* the catalog lacks a msgid of the template, or has one the source no longer uses;
* an entry is fuzzy (the header included) or, except in English, untranslated;
* ``msgfmt --check`` rejects it or warns (placeholders that differ from the msgid, a
  header left at its default values);
* its ``.mo`` file is missing or does not hold exactly what the ``.po`` compiles to;

and when a template of the package shows text outside ``{% translate %}`` and
``{% blocktranslate %}`` (in an element or in an attribute people read: ``title``,
``placeholder``, ``aria-label``, ``alt``), which no catalog could translate.

Both need GNU gettext (Debian: ``apt-get install gettext``).
"""

from __future__ import annotations

import argparse
import gettext
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "wagtail_plugin_system"

#: The languages that ship. English is the source language: its msgstrs stay empty.
LANGUAGES = ("en", "fr", "de")
SOURCE_LANGUAGE = "en"

#: How the catalogs are made. File names without line numbers keep diffs small when code moves.
MAKEMESSAGES_OPTIONS = ("--domain", "django", "--add-location", "file", "--no-obsolete")

GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt")


def catalog(package: Path, language: str, suffix: str) -> Path:
    return package / "locale" / language / "LC_MESSAGES" / f"django.{suffix}"


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def makemessages(package: Path, *extra: str) -> None:
    """Run ``makemessages`` for every shipped language, from the package directory."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # -P: the package directory must not shadow other modules (it has a "checks", a "forms").
    command = [sys.executable, "-P", "-m", "django", "makemessages", *MAKEMESSAGES_OPTIONS, *extra]
    for language in LANGUAGES:
        command += ["--locale", language]
    result = subprocess.run(
        command, cwd=package, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"makemessages failed:\n{result.stdout}{result.stderr}")


def compile_catalog(po: Path, mo: Path) -> subprocess.CompletedProcess[str]:
    """What ``compilemessages`` runs."""
    return run(["msgfmt", "--check-format", "-o", str(mo), str(po)])


def require_gettext() -> None:
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"GNU gettext is needed ({', '.join(missing)} not found). "
            "Debian: apt-get install gettext"
        )


def update() -> int:
    makemessages(PACKAGE)
    status = 0
    for language in LANGUAGES:
        result = compile_catalog(catalog(PACKAGE, language, "po"), catalog(PACKAGE, language, "mo"))
        if result.returncode != 0:
            print(f"{language}: msgfmt failed:\n{result.stderr}", file=sys.stderr)
            status = 1
    print(f"Catalogs updated: {', '.join(LANGUAGES)}. Translate new entries, remove fuzzy flags.")
    return status


def compiled_messages(mo: Path) -> dict[object, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


@dataclass
class Entry:
    """One entry of a .po file: its key (msgctxt, msgid), flags and translations."""

    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid

    def describe(self) -> str:
        return self.msgid if self.context is None else f"{self.msgid} (context {self.context})"


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text.strip()[1:-1])


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, the header first; obsolete (``#~``) entries are left out."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#") for line in lines):
            continue
        entry = Entry()
        target: str | None = None
        index = 0
        for line in lines:
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                value = _unquote(line)
                if target == "msgctxt":
                    entry.context = (entry.context or "") + value
                elif target == "msgid":
                    entry.msgid += value
                elif target == "msgid_plural":
                    entry.plural = (entry.plural or "") + value
                else:
                    entry.translations[index] += value
            else:
                keyword, _, rest = line.partition(" ")
                match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                if match or keyword == "msgstr":
                    index = int(match.group(1)) if match else 0
                    entry.translations.append(_unquote(rest))
                    target = "msgstr"
                elif keyword in ("msgctxt", "msgid", "msgid_plural"):
                    target = keyword
                    value = _unquote(rest)
                    if keyword == "msgctxt":
                        entry.context = value
                    elif keyword == "msgid":
                        entry.msgid = value
                    else:
                        entry.plural = value
        entries.append(entry)
    return entries


def check_language(language: str, template: list[Entry], work: Path) -> list[str]:
    """The problems of one language's catalog (empty when it is fine)."""
    po = catalog(PACKAGE, language, "po")
    mo = catalog(PACKAGE, language, "mo")
    name = po.relative_to(ROOT)
    if not po.exists():
        return [f"{name} is missing: run `make messages`"]
    problems = []
    entries = read_po(po)
    header, messages = entries[0], entries[1:]
    wanted = {entry.key: entry for entry in template[1:]}
    found = {entry.key: entry for entry in messages}
    missing = [entry.describe() for key, entry in wanted.items() if key not in found]
    if missing:
        problems.append(f"{name} lacks strings of the source: {missing}")
    stale = [entry.describe() for key, entry in found.items() if key not in wanted]
    if stale:
        problems.append(f"{name} has strings the source no longer uses: {stale}")
    fuzzy = [entry.describe() or "(the header)" for entry in entries if "fuzzy" in entry.flags]
    if fuzzy:
        problems.append(f"{name} has fuzzy entries: {fuzzy}")
    if language != SOURCE_LANGUAGE:
        untranslated = [
            entry.describe()
            for entry in messages
            if not entry.translations or not all(entry.translations)
        ]
        if untranslated:
            problems.append(f"{name} has untranslated entries: {untranslated}")
    if header.msgid or not header.translations:
        problems.append(f"{name} has no header")
    compiled = work / f"{language}.mo"
    checked = run(["msgfmt", "--check", "-o", str(compiled), str(po)])
    if checked.returncode != 0 or checked.stderr.strip():
        problems.append(f"msgfmt --check rejects {name}:\n{checked.stderr}")
    elif not mo.exists():
        problems.append(f"{mo.relative_to(ROOT)} is missing: run `make messages`")
    elif compiled_messages(mo) != compiled_messages(compiled):
        problems.append(f"{mo.relative_to(ROOT)} is out of date with {name}: run `make messages`")
    return problems


#: Attributes whose text people read: a template must not write it in English.
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
_TRANSLATING_BLOCKS = {"blocktrans": "endblocktrans", "blocktranslate": "endblocktranslate"}


def untranslated_template_text(path: Path) -> list[str]:
    """Text a template shows outside the translation tags (empty when there is none).

    Template tags and variables count as translated (they are checked where their
    text comes from); so do ``{% blocktranslate %}`` and ``{% comment %}`` blocks.
    """
    from django.template.base import Lexer, TokenType

    plain: list[str] = []
    closing: str | None = None
    for token in Lexer(path.read_text(encoding="utf-8")).tokenize():
        word = token.contents.split()[0] if token.contents.split() else ""
        if closing is not None:
            if token.token_type is TokenType.BLOCK and word == closing:
                closing = None
            continue
        if token.token_type is TokenType.BLOCK and word in _TRANSLATING_BLOCKS:
            closing = _TRANSLATING_BLOCKS[word]
        elif token.token_type is TokenType.BLOCK and word == "comment":
            closing = "endcomment"
        elif token.token_type is TokenType.TEXT:
            plain.append(token.contents)
        else:
            plain.append("\x00")  # a tag or a variable: not text of this template
    text = re.sub(r"<!--.*?-->|<(script|style)\b.*?</\1>", " ", "".join(plain), flags=re.S)
    found = [
        value
        for name in READ_ATTRIBUTES
        for value in re.findall(rf'\s{name}="([^"]*)"', text)
        if re.search(r"[A-Za-z]{2}", value.replace("\x00", " "))
    ]
    text = re.sub(r"<[^>]*>", " ", text).replace("\x00", " ")
    text = re.sub(r"&\w+;|&#\d+;", " ", text)
    found += re.findall(r"[A-Za-z][A-Za-z' ]*[A-Za-z]", text)
    return found


def check_templates(package: Path) -> list[str]:
    """Every template of the package whose text no catalog can translate."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure()
        django.setup()
    problems = []
    for path in sorted((package / "templates").rglob("*.html")):
        found = untranslated_template_text(path)
        if found:
            name = path.relative_to(ROOT)
            problems.append(f"{name} shows text outside the translation tags: {found}")
    return problems


def check() -> int:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        copy = work / PACKAGE.name
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
        makemessages(copy, "--keep-pot")
        template = read_po(copy / "locale" / "django.pot")
        problems = []
        for language in LANGUAGES:
            problems += check_language(language, template, work)
    problems += check_templates(PACKAGE)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print("Run `make messages`, then translate and un-fuzzy what it reports.", file=sys.stderr)
        return 1
    print(f"Catalogs complete and compiled: {', '.join(LANGUAGES)}.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["update", "check"])
    action = parser.parse_args().action
    require_gettext()
    return update() if action == "update" else check()


if __name__ == "__main__":
    sys.exit(main())
