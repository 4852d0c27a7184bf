"""A plan and a push as text, for an admin at a terminal.

One line per changing field (product, POT ID, action, field, old → new), the
product named on its first line only; notes such as a held price or a field
the coop took over follow their product, marked with `!`.
"""

from __future__ import annotations

from pot_bridge.catalog.carry import Value
from pot_bridge.catalog.plan import Plan, Step
from pot_bridge.catalog.push import Pushed

WIDEST_VALUE = 40
WIDEST_NAME = 32
HEADER = ("PRODUCT", "POT ID", "ACTION", "FIELD", "OLD → NEW")


def plan_table(plan: Plan) -> str:
    """The plan as a table, or a line saying there is nothing to do."""
    rows: list[Row] = []
    notes: dict[int, list[str]] = {}
    for step in plan.steps:
        lines = _step_rows(step, set(plan.new_categories))
        if not lines and not _notes(step):
            continue
        rows += lines or [(step.name, step.pot_id, step.action, "", "")]
        notes.setdefault(len(rows) - 1, []).extend(_notes(step))

    head = f"coop {plan.coop}, catalog version {plan.version or '-'}: "
    text = [head + _summary(plan)]
    text += [f"! not in the central catalog: {name}" for name in plan.unknown]
    text += [f"! unreadable in the shop: {problem}" for problem in plan.problems]
    if not rows:
        return _printable("\n".join(text))

    widths = [
        min(max(len(row[i]) for row in [HEADER, *rows]), WIDEST_NAME) for i in range(4)
    ]
    text.append(_line(HEADER, widths))
    for index, row in enumerate(rows):
        text.append(_line(row, widths))
        text += [" " * (widths[0] + 2) + f"! {note}" for note in notes.get(index, [])]

    return _printable("\n".join(text))


def push_report(pushed: Pushed) -> str:
    """Each product that failed, then one summary line."""
    lines = [
        f"failed: {o.name} (POT ID {o.pot_id}), {o.action}: {o.message}"
        for o in pushed.failed
    ]
    done = (
        f"{pushed.count('create')} created, "
        f"{pushed.count('update') + pushed.count('adopt')} updated, "
        f"{pushed.count('relist')} listed again, "
        f"{pushed.count('outlist')} out-listed, "
        f"{pushed.count('image')} images only, "
        f"{len(pushed.failed)} failed; {pushed.writes} write requests"
    )
    lines.append(f"coop {pushed.coop}: {done}")
    if pushed.error:
        lines.append(f"stopped early: {pushed.error}")

    return _printable("\n".join(lines))


def _summary(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for step in plan.steps:
        if step.writes or step.action in ("conflict", "skip"):
            counts[step.action] = counts.get(step.action, 0) + 1
    images = len(plan.images)
    parts = [f"{n} {action}" for action, n in sorted(counts.items())]
    parts += [f"{images} image"] if images else []

    return ", ".join(parts) or "nothing to write"


Row = tuple[str, str, str, str, str]


def _step_rows(step: Step, new_categories: set[str]) -> list[Row]:
    rows: list[Row] = []
    changes = [(c.field, _shown(c.old), _shown(c.new)) for c in step.changes]
    for index, change in enumerate(step.changes):
        if change.field == "category" and change.new in new_categories:
            changes[index] = (*changes[index][:2], changes[index][2] + " (new)")
    if step.image is not None:
        changes.append(("image", "–", _shown(step.image)))
    for index, (name, old, new) in enumerate(changes):
        first = index == 0
        rows.append(
            (
                _cut(step.name, WIDEST_NAME) if first else "",
                step.pot_id if first else "",
                step.action if first else "",
                name,
                f"{old} → {new}",
            )
        )

    return rows


def _notes(step: Step) -> list[str]:
    taken = [f"{name} is the coop's own now: not written" for name in step.taken_over]
    return step.notes + taken


def _shown(value: Value | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return _cut(" / ".join(value.values()), WIDEST_VALUE)
    return _cut(repr(value) if value == "" else " ".join(value.split()), WIDEST_VALUE)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    cells = [row[i].ljust(widths[i]) for i in range(4)]

    return "  ".join([*cells, row[4]]).rstrip()


def _printable(text: str) -> str:
    """Names from the feed must not break the table or steer the terminal."""
    return "".join(c if c.isprintable() or c == "\n" else " " for c in text)
