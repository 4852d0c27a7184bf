"""What producers, coop admins and the people at distribution read, as text.

E-mails are written for a person (local dates, amounts as 1'234.50, tables that
line up in a fixed-width font); CSV files are for a spreadsheet or a producer's
own software (plain 1234.50, one row per line). The PDFs (`pot_bridge.pdf`)
share the words of `pot_bridge.wording` and the checks of `pot_bridge.handout`,
so documents made from the same `GroupOrderView` cannot disagree.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pot_bridge.group_order import GroupOrderView, ProductTotal
from pot_bridge.handout import (
    combine,
    handouts,
    member_shares,
    require_consolidated,
    require_lines,
    require_one_round,
)
from pot_bridge.money import ZERO, format_chf, format_quantity, round_chf
from pot_bridge.text_table import change_table, order_table
from pot_bridge.wording import (
    SWISS,
    TEMPLATES,
    Language,
    day_text,
    deadline_text,
    delivery_point,
    place_of,
    postal_address,
    quantity_text,
    reason_text,
    words,
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def group_order_csv(view: GroupOrderView, lang: Language = "de") -> bytes:
    """The group order by product: UTF-8 with BOM and `;`, as Swiss Excel expects.

    Text cells that a spreadsheet would run as a formula get a leading `'`.
    """
    require_lines(view)
    w = words(lang)

    rows = [_product_head(w)]
    rows.extend(_product_cells(line) for line in view.lines)
    rows.append(["", "", w["total"], "", "", "", "", "", _plain(view.total)])

    return spreadsheet_csv(rows)


def member_csv(view: GroupOrderView, lang: Language = "de") -> bytes:
    """Each member's share, for a producer who packs per member.

    Members' names go to a producer only when it packs per member, so any other
    group order is refused.
    """
    require_lines(view)
    if not view.per_member:
        raise ValueError(f"{view.producer!r} does not pack per member")
    w = words(lang)
    pot_ids = {line.product_id: line.pot_id for line in view.lines}

    head = ["member", "pickup_place", "sku", "pot_id", "product", "unit", "quantity"]
    rows = [[w[key] for key in head]]
    for share in member_shares(view):
        texts = [share.member_name, place_of(share, view), share.sku]
        texts += [pot_ids.get(share.product_id, ""), share.name, share.unit]
        rows.append([*map(spreadsheet_cell, texts), format_quantity(share.allocated)])

    return spreadsheet_csv(rows)


def consolidated_csv(views: Sequence[GroupOrderView], lang: Language = "de") -> bytes:
    """One producer's orders from several coops: per product each coop, then all."""
    require_consolidated(views)
    w = words(lang)

    rows = [[w["coop"], w["delivery_point"], *_product_head(w)]]
    for product in combine(views):
        for view, line in product.parts:
            place = delivery_point(view)
            cells = [spreadsheet_cell(view.coop_name), spreadsheet_cell(place)]
            rows.append([*cells, *_product_cells(line)])
        total = _product_cells(product.line)
        total[7] = ""  # prices can differ between coops
        rows.append([w["all_coops"], "", *total])
    grand = sum((view.total for view in views), ZERO)
    rows.append([w["total"], "", *[""] * 8, _plain(grand)])

    return spreadsheet_csv(rows)


def producer_email(
    view: GroupOrderView, lang: Language, *, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """Subject and plain-text body of the group order to the producer.

    `zone` is the coop's: the deadline is stored in UTC but read in local time.
    """
    require_lines(view)
    w = words(lang)

    return render_mail(
        "producer_email",
        lang,
        **_round_facts(view, lang, zone),
        table=order_table(view.lines, view.total, w),
        rounded=any(line.quantity != line.ordered for line in view.lines),
        **_attachments(view),
    )


def correction_email(
    previous: Sequence[ProductTotal],
    view: GroupOrderView,
    version: int,
    lang: Language,
    zone: ZoneInfo = SWISS,
    *,
    files: Mapping[str, str | None] | None = None,
) -> tuple[str, str]:
    """Correction `version` (1, 2, …) of a group order the producer already has.

    Lists what changed since `previous` (the lines last sent), then the new
    totals, which the attachments carry; a view left without lines cancels the
    order, and then nothing is attached. `files` names the attachments when
    they are not the single coop's (the consolidated order's).
    """
    if view.lines:
        require_lines(view)
    if version < 1:
        raise ValueError(f"a correction is numbered from 1, not {version}")
    w = words(lang)

    return render_mail(
        "correction_email",
        lang,
        **_round_facts(view, lang, zone),
        version=version,
        changes=change_table(previous, view.lines, w),
        total_before=format_chf(sum((line.amount for line in previous), ZERO)),
        total=format_chf(view.total),
        cancelled=not view.lines,
        table=order_table(view.lines, view.total, w),
        **(files if files is not None else _attachments(view)),
    )


def minimum_email(
    view: GroupOrderView,
    minimum_value: Decimal | None,
    minimum_quantity: Decimal | None,
    policy: str,
    lang: Language,
    zone: ZoneInfo = SWISS,
) -> tuple[str, str]:
    """Tell the coop's admin that a group order is below the producer's minimum.

    Under "hold" the order waits for the admin, so the mail gives the two
    commands that decide it; under "cancel" it says the members are refunded.
    The quantity compared is the sum over all lines, whatever their units.
    """
    require_lines(view)
    if policy not in ("hold", "cancel"):
        raise ValueError(f"unknown below-minimum policy {policy!r}")
    if minimum_value is None and minimum_quantity is None:
        raise ValueError(f"{view.producer!r} has no minimum to report")
    w = words(lang)
    quantity = sum((line.quantity for line in view.lines), ZERO)

    return render_mail(
        "minimum_email",
        lang,
        **_round_facts(view, lang, zone),
        policy=policy,
        value=format_chf(view.total),
        minimum_value=None if minimum_value is None else format_chf(minimum_value),
        quantity=format_quantity(quantity),
        minimum_quantity=(
            None if minimum_quantity is None else format_quantity(minimum_quantity)
        ),
        release=_command("release", view),
        cancel=_command("cancel", view),
        table=order_table(view.lines, view.total, w),
    )


def distribution_email(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """Tell the coop's admin the distribution list is ready, and what stands out."""
    first = require_one_round(views)
    handed = handouts(views)

    short = [
        {
            "member": handout.member,
            "product": share.name,
            "gets": quantity_text(share.allocated, share.unit),
            "ordered": quantity_text(share.ordered, share.unit),
            "reason": reason_text(share.reason, lang),
        }
        for handout in handed
        for _, share in handout.items
        if share.allocated < share.ordered
    ]
    surplus = [
        (line.name, view.producer, quantity_text(line.surplus, line.unit))
        for view in views
        for line in view.lines
        if line.surplus > 0
    ]
    members = {(h.customer_id, h.member) for h in handed}

    return render_mail(
        "distribution_email",
        lang,
        **_round_facts(first, lang, zone),
        members=len(members),
        producers=len(views),
        attachment=distribution_name(first),
        surplus=surplus,
        short=short,
    )


def consolidated_email(
    views: Sequence[GroupOrderView], lang: Language, zone: ZoneInfo = SWISS
) -> tuple[str, str]:
    """One producer's orders from several coops delivered the same day, in one mail."""
    require_consolidated(views)
    w = words(lang)
    combined = combine(views)
    grand = sum((view.total for view in views), ZERO)

    coops = [
        dict(
            _round_facts(view, lang, zone),
            address=postal_address(view),
            table=order_table(view.lines, view.total, w),
        )
        for view in views
    ]
    day = views[0].distribution_day

    return render_mail(
        "consolidated_email",
        lang,
        producer=views[0].producer,
        day=day_text(day, lang) if day else None,
        round_name=views[0].round_name,
        coops=coops,
        table=order_table([p.line for p in combined], grand, w),
        attachments=[consolidated_name(views, "pdf"), consolidated_name(views, "csv")],
        senders=", ".join(dict.fromkeys(view.coop_name for view in views)),
    )


def attachment_name(view: GroupOrderView, ext: str = "csv", *, part: str = "") -> str:
    """A file name every mail client keeps as is: ASCII letters, digits, dashes.

    `part` names a document beside the group order itself, e.g. "members".
    """
    round_part = _slug(view.round_name) or _slug(view.round_key)
    parts = [_slug(view.coop_slug), round_part, _slug(view.producer) or "producer"]

    return _file_name("group-order", [*parts, _slug(part)], ext)


def distribution_name(view: GroupOrderView, ext: str = "pdf") -> str:
    """The distribution list's file name: coop and round of any of its views."""
    round_part = _slug(view.round_name) or _slug(view.round_key)

    return _file_name("distribution", [_slug(view.coop_slug), round_part], ext)


def consolidated_name(views: Sequence[GroupOrderView], ext: str = "pdf") -> str:
    """The combined order's file name: producer and delivery day."""
    require_consolidated(views)
    day = views[0].distribution_day
    when = day.isoformat() if day else _slug(views[0].round_name)
    producer = _slug(views[0].producer) or "producer"

    return _file_name("group-order", [producer, when], ext)


def _product_head(w: Mapping[str, str]) -> list[str]:
    keys = ["sku", "pot_id", "product", "unit", "pack_size", "packs", "quantity"]

    return [w[key] for key in keys] + [w["unit_price"], w["amount"]]


def _product_cells(line: ProductTotal) -> list[str]:
    texts = [line.sku, line.pot_id, line.name, line.unit]

    return [
        *map(spreadsheet_cell, texts),
        "" if line.pack_size is None else format_quantity(line.pack_size),
        "" if line.packs is None else format_quantity(line.packs),
        format_quantity(line.quantity),
        _plain(line.unit_price),
        _plain(line.amount),
    ]


def spreadsheet_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows as UTF-8 with BOM, `;` and CR LF: what Swiss Excel opens as is."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)

    return out.getvalue().encode("utf-8-sig")


def _plain(amount: Decimal) -> str:
    return f"{round_chf(amount):f}"


def spreadsheet_cell(text: str) -> str:
    """`text` with a leading `'` where a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _round_facts(view: GroupOrderView, lang: str, zone: ZoneInfo) -> dict[str, object]:
    """What every e-mail about one group order may say about its round."""
    day = view.distribution_day

    return {
        "coop_name": view.coop_name,
        "coop_email": view.coop_email,
        "producer": view.producer,
        "round_name": view.round_name,
        "deadline": deadline_text(view.closes_at, lang, zone),
        "distribution": day_text(day, lang) if day else None,
        "pickup_place": view.pickup_place,
        "note": view.note,
    }


def _attachments(view: GroupOrderView) -> dict[str, str | None]:
    members = attachment_name(view, "csv", part="members") if view.per_member else None

    return {
        "pdf": attachment_name(view, "pdf"),
        "csv": attachment_name(view, "csv"),
        "members_csv": members,
    }


def _command(action: str, view: GroupOrderView) -> str:
    words_ = ["pot-bridge", "group-order", action, view.coop_slug, view.round_key]

    return shlex.join([*words_, view.producer])


def render_mail(name: str, lang: str, **context: object) -> tuple[str, str]:
    """Render a template whose first line is the subject."""
    words(lang)  # refuses an unknown language before looking for its template
    text = _environment().get_template(f"{name}.{lang}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")

    return subject.strip(), body.lstrip("\n")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain text, nothing is HTML here
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _file_name(kind: str, parts: Sequence[str], ext: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"not a file extension: {ext!r}")

    return kind + "-" + "-".join(part for part in parts if part) + "." + ext


def _slug(text: str) -> str:
    """Hof Müller & Söhne → hof-mueller-soehne."""
    text = text.lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")

    return slug[:40].rstrip("-")
