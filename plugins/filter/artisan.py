# -*- coding: utf-8 -*-
"""The artisan deny list and the check playbooks/artisan.yml runs before a command reaches a site.

- ``artisan_refusal(cmd, site, environment='prod', force=False)``: why `cmd` is refused ('' when
  it may run), in English and French, naming the site and the denied command(s) it may run.

- ``artisan_args(cmd)``: the words handed to artisan, without a leading ``php`` / ``php8.2`` and
  ``artisan`` / ``./artisan`` that an operator used to a shell types out of habit.

``artisan_may_run(word, names)`` is the abbreviation rule it applies (Python only, not a filter).

Laravel's artisan is a Symfony console: it runs a command given by any unambiguous abbreviation
(each colon-separated part a prefix: `m:f`, `mi:fre` and `migrate:f` run migrate:fresh, `dow` runs
down), falls back to a case-insensitive match (`MIGRATE:FRESH`), and finds the name after options
(`--env=production migrate:fresh`, `--env production migrate:fresh`, `-n db:wipe`). So every
word of the command that is not an option is compared to the deny list, as an abbreviation and
case folded: a word refused here may be an argument or an option's value rather than the command
name, or an ambiguous abbreviation Symfony would refuse itself; refusing it is the safe side,
and -e force=true is the way through.
"""

from __future__ import annotations

# Refused without force=true: everywhere, and in production only.
ARTISAN_DENY_ALWAYS = ("migrate:fresh", "migrate:reset", "migrate:refresh", "db:wipe", "key:generate")
ARTISAN_DENY_PROD = ("db:seed", "migrate:rollback", "tinker", "down", "cache:clear", "queue:flush")
# The environments (data model `environment`) where only ARTISAN_DENY_ALWAYS applies; any other
# value, production or unknown, gets both lists.
ARTISAN_NON_PROD = ("staging", "dev")


def artisan_may_run(word, names):
    """Return the names among `names` that `word` may run, as Symfony's Application::find resolves it.

    `word` may run `name` when both split on ':' into as many parts and each part of `word` is a
    prefix of the same part of `name`, ignoring case. Symfony never resolves a word to a name
    with more parts (`migrate` runs migrate, not migrate:fresh).
    """
    parts = str(word).lower().split(":")
    found = []
    for name in names:
        target = name.lower().split(":")
        if len(target) == len(parts) and all(t.startswith(p) for p, t in zip(parts, target)):
            found.append(name)
    return found


def artisan_refusal(cmd, site="", environment="prod", force=False):
    """Return why the artisan command `cmd` is refused for `site` ('' when it may run).

    `cmd` is the text handed to artisan, split on whitespace as the playbook splits it. An empty
    or non-text command is always refused; otherwise only `force` set to the boolean True lets a
    denied command through.
    """
    where = f"site {site}" if site else "site ?"
    if not isinstance(cmd, str) or not cmd.split():
        return (f"{where}: pass the command as text, -e cmd='...' (refused) / "
                f"{where} : indiquez la commande en texte, -e cmd='...' (refusé)")
    if force is True:
        return ""
    production = environment not in ARTISAN_NON_PROD
    words = [word for word in cmd.split() if not word.startswith("-")]
    always = [name for word in words for name in artisan_may_run(word, ARTISAN_DENY_ALWAYS)]
    if always:
        names = ", ".join(dict.fromkeys(always))
        return (f"{where}: '{cmd}' may run {names}, which destroys data or keys: refused without "
                f"-e force=true / {where} : '{cmd}' peut lancer {names}, qui détruit des données ou des "
                f"clés : refusé sans -e force=true")
    prod = [name for word in words for name in artisan_may_run(word, ARTISAN_DENY_PROD)] if production else []
    if prod:
        names = ", ".join(dict.fromkeys(prod))
        return (f"{where} ({environment}): '{cmd}' may run {names}: refused in production without "
                f"-e force=true / {where} ({environment}) : '{cmd}' peut lancer {names} : refusé en "
                f"production sans -e force=true")
    return ""


def _is_php(word):
    return word == "php" or (word.startswith("php") and word[3:].replace(".", "").isdigit())


def artisan_args(cmd):
    """Return the words of `cmd` as artisan takes them: a leading php binary and artisan script dropped.

    `php artisan cache:clear`, `php8.2 ./artisan cache:clear` and `cache:clear` all give
    ['cache:clear']; anything else is split on whitespace, unchanged.
    """
    words = str(cmd or "").split()
    if words and _is_php(words[0].rsplit("/", 1)[-1]):
        words = words[1:]
    if words and words[0].rsplit("/", 1)[-1] == "artisan":
        words = words[1:]
    return words


class FilterModule:
    """Artisan filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"artisan_refusal": artisan_refusal, "artisan_args": artisan_args}
