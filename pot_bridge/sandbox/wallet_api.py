"""The plugin's wallet routes: `getAllTransactions`, `getTransactions`,
`postAddTransaction`, `getBalance` and `getUsers`, answered as 1.7.7 does.

Answers are double-encoded like the plugin's `json_encode(...)` returns; row
values are all strings, as `$wpdb` gives them.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pot_bridge.sandbox import wire
from pot_bridge.sandbox.model import Customer
from pot_bridge.sandbox.reply import Reply, Request
from pot_bridge.sandbox.wallet import WalletRow, php_money

PLUGIN_FILE = "<site-root>/wp-content/plugins/pot-plugin/inc/foodcoop-rest-routes.php"
NO_DATE = "0000-00-00 00:00:00"
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2}))?")
# PHP's is_numeric: what number_format() takes without a TypeError
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _name(customer: Customer | None) -> str:
    """billing_first_name . ' ' . billing_last_name, as the plugin glues them."""
    if customer is None:
        return " "
    return f"{customer.first_name} {customer.last_name}"


def _double(value: object) -> Reply:
    """json_encode() inside the REST server's own encoding."""
    return Reply(200, text=wire.dumps(wire.dumps(value)))


def _listed(req: Request, rows: list[WalletRow]) -> Reply:
    customers = req.state.customers
    listed = []
    for row in sorted(rows, key=lambda r: r.id, reverse=True):
        raw = row.raw()
        raw["created_by"] = _name(customers.get(row.created_by))
        raw["user_name"] = _name(customers.get(row.user_id))
        listed.append(raw)

    return _double(listed)


def _body(req: Request) -> dict[str, Any]:
    return req.body if isinstance(req.body, dict) else {}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def get_all_transactions(req: Request) -> Reply:
    return _listed(req, req.state.wallet.rows)


def get_transactions(req: Request) -> Reply:
    return _listed(req, req.state.wallet.of(_int(_body(req).get("id"))))


def get_balance(req: Request) -> Reply:
    balance = req.state.wallet.balance(_int(_body(req).get("id")))
    shown = None if balance is None else php_money(balance)

    return _double([shown, f"{req.base}/my-account/"])


def get_users(req: Request) -> Reply:
    """All WordPress users by login, with balance and yearly-fee rows."""
    wallet = req.state.wallet
    users = []
    for customer in sorted(req.state.customers.values(), key=lambda c: c.username):
        fees = [r for r in wallet.of(customer.id) if r.type == "yearly_fee"]
        balance = wallet.balance(customer.id)
        street, postcode, city = customer.address
        users.append(
            {
                "name": _name(customer),
                "id": customer.id,
                "email": customer.email,
                "address": street,
                "balance": php_money(balance or Decimal(0)),
                "role": customer.role,
                "postcode": postcode,
                "city": city,
                "active": [r.raw() for r in fees],
                "last_fee": fees[-1].date if fees else None,
                "permission": "",
            }
        )

    return _double(users)


def _stored_date(value: object, now: datetime) -> str:
    """What a MariaDB TIMESTAMP keeps of the string sent (non-strict mode)."""
    if value is None:
        return now.astimezone(wire.UTC).strftime("%Y-%m-%d %H:%M:%S")
    found = _STAMP.match(str(value))
    if found is None:
        return NO_DATE
    return f"{found.group(1)} {found.group(2) or '00:00:00'}"


def _type_error(value: str) -> Reply:
    """PHP 8's TypeError from number_format() on a non-numeric string."""
    shown = value.replace("\\", "\\\\").replace("'", "\\'")
    message = (
        "Uncaught TypeError: number_format(): Argument #1 ($num) must be of type "
        f"float, string given in {PLUGIN_FILE}:2591\nStack trace:\n#0 {PLUGIN_FILE}"
        f"(2591): number_format('{shown}', 2, '.', '')\n"
        "#1 <site-root>/wp-includes/rest-api/class-wp-rest-server.php(1298): "
        "FoodcoopRestRoutes->postAddTransaction(Object(WP_REST_Request))\n"
        "#2 {main}\n  thrown"
    )
    body = wire.error(
        "internal_server_error",
        "<p>There has been a critical error on this website.</p><p><a href="
        '"https://wordpress.org/documentation/article/faq-troubleshooting/">'
        "Learn more about troubleshooting WordPress.</a></p>",
        500,
        error={"type": 1, "message": message, "file": PLUGIN_FILE, "line": 2591},
    )
    body["additional_errors"] = []

    return Reply(500, body, allow=False)


def post_add_transaction(req: Request) -> Reply:
    """Book one row; runs outside the shop lock so the race can be staged."""
    state, wallet, body = req.state, req.state.wallet, _body(req)
    user, created_by = _int(body.get("user")), _int(body.get("created_by"))
    details, kind = str(body.get("details") or ""), str(body.get("type") or "")
    sent = body.get("amount")

    shown: Decimal | int
    if sent == "jahresbeitrag":
        amount = Decimal(-wallet.fc_fee)
        shown = -wallet.fc_fee  # the answer carries this one as a JSON number
    elif sent is None:
        amount = Decimal(0)
        shown = amount
    elif isinstance(sent, int | Decimal) and not isinstance(sent, bool):
        amount = shown = Decimal(sent)
    elif isinstance(sent, str) and _NUMERIC.fullmatch(sent):
        try:
            amount = shown = Decimal(sent.strip())
        except InvalidOperation:
            return _type_error(sent)
    else:
        return _type_error(str(sent))

    with state.lock:
        previous = wallet.balance(user)
        name = _name(state.customers.get(user))
        date = _stored_date(body.get("date"), state.now())
    if wallet.race:
        time.sleep(wallet.race_window)  # other requests read the same balance
    with state.lock:
        if not wallet.race:
            previous = wallet.balance(user)
        balance = amount if previous is None else previous + amount
        row_id = 0
        if wallet.schema_upgraded:
            row_id = wallet.insert(
                user, amount, details, created_by, date, kind, balance=balance
            ).id

    answer_amount = shown if isinstance(shown, int) else php_money(shown)
    return _double(
        [php_money(balance), name, row_id, answer_amount, details, created_by, kind]
    )
