"""The catalog as data: the pure parser/validator of the catalog file.

`parse_catalog` turns the YAML text (format: docs/catalog.md) into a `CatalogSpec` (the typed
specs are in catalog.specs) or raises `CatalogInvalid("file:line: reason")` for the first mistake
found; nothing is half-read.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import yaml

from simrenew.catalog.file_format import Fields, Seen, Source, label_of, value_node
from simrenew.catalog.specs import (
    CatalogSpec,
    OperatorSpec,
    PackageSpec,
    PaymentMethodSpec,
    PlanSpec,
    PromotionSpec,
)
from simrenew.errors import CatalogInvalid
from simrenew.renewals.rules import BONUS_VALIDITY_DAYS

CHANNELS = ("store", "kiosk", "web", "app", "partner", "ussd", "care")
PROMOTION_KINDS = ("bonus_percent", "double_credit", "fixed_discount", "spend_save")
LANGUAGES = ("en", "ar", "zh")
# Paid face to face: the money is taken on the spot, so no online gateway is involved.
IN_PERSON_METHODS = ("cash", "till", "card_terminal")
MAX_FEE_PERCENT = 20
MAX_DAYS = 3660  # ten years: anything longer is a typo
MAX_FILE_CHARS = 1_000_000

_CODE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_CODE_HINT = "use 1-32 lowercase letters, digits, '-' or '_', starting with a letter"
# Kuwaiti mobile numbers are 8 digits starting 41, 5, 6 or 9; a prefix is a start of one.
_PREFIX = re.compile(r"41[0-9]{0,6}|[569][0-9]{0,7}")
_USSD = re.compile(r"\*[0-9]+(?:\*[0-9]+)*#")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#0b5cad"  # pages of an operator whose catalog names no colour
_URL = re.compile(r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?(?:/\S*)?")
_CARE = re.compile(r"\+?[0-9]{3,15}")
_METHOD = re.compile(r"cash|till|card_terminal|card|knet|wallet:[a-z][a-z0-9_-]{0,31}")
_METHOD_HINT = "use cash, till, card_terminal, card, knet or wallet:<provider> (lowercase)"


def read_catalog_file(path: str | Path) -> CatalogSpec:
    """Read and validate a catalog file (UTF-8 YAML)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogInvalid(f"{path}:1: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogInvalid(f"{path}:{line}: the file is not UTF-8 text") from None
    return parse_catalog(text, filename=str(path))


def parse_catalog(text: str, *, filename: str = "<catalog>") -> CatalogSpec:
    """Parse and validate catalog YAML text; raise CatalogInvalid naming file, line and reason."""
    source = Source(filename)
    if len(text) > MAX_FILE_CHARS:
        source.fail(None, f"the file is too large (more than {MAX_FILE_CHARS} characters)")
    root = source.mapping(
        source.compose(text), "the catalog", ("version", "operators", "payment_methods")
    )
    version = root.get("version")
    if version is not None and source.integer(version, "version", minimum=1, maximum=99) != 1:
        source.fail(version, "version: this simrenew reads catalog format version 1 only")
    operator_nodes = root.items("operators", at_least_one=True)
    seen = Seen(source, "operator code")
    operators = [_operator(source, node, index, seen) for index, node in enumerate(operator_nodes)]
    method_nodes = root.items("payment_methods", at_least_one=True)
    seen = Seen(source, "payment method")
    methods = [
        _payment_method(source, node, index, seen) for index, node in enumerate(method_nodes)
    ]
    return CatalogSpec(operators=tuple(operators), payment_methods=tuple(methods))


def _operator(source: Source, node: yaml.Node, index: int, seen: Seen) -> OperatorSpec:
    keys = ("code", "name", "names", "colour", "ussd_code", "web_url", "care_number",
            "number_prefixes", "channel_discounts", "plans", "promotions")  # fmt: skip
    f = source.mapping(node, label_of("operator", node, index), keys)
    code = f.text("code", pattern=_CODE, hint=_CODE_HINT)
    seen.add(code, f.need("code"))
    name = f.text("name")
    names_map = source.mapping(f.need("names"), f.what("names"), LANGUAGES, noun="language")
    names = {lang: names_map.text(lang) for lang in LANGUAGES}
    colour = DEFAULT_COLOUR
    if f.get("colour") is not None:
        colour = f.text("colour", pattern=_COLOUR, hint='write it like "#0f7b6c"').lower()
    ussd_code = f.text("ussd_code", pattern=_USSD, hint="write it like *135#")
    web_url = f.text("web_url", pattern=_URL, hint="write it like https://zahra.example")
    care_node = f.need("care_number")
    care_number = source.digits(care_node, f.what("care_number"))
    if not _CARE.fullmatch(care_number):
        source.fail(care_node, f"{f.what('care_number')} must be 3-15 digits, optionally after +")
    prefixes = Seen(source, f"{f.what('number_prefixes')}: prefix")
    for prefix_node in f.items("number_prefixes", at_least_one=True):
        prefix = source.digits(prefix_node, f.what("number_prefixes"))
        if not _PREFIX.fullmatch(prefix):
            source.fail(
                prefix_node,
                f"{f.what('number_prefixes')}: {prefix!r} is not a Kuwaiti mobile range: "
                "a prefix is 1-8 digits starting with 41, 5, 6 or 9",
            )
        prefixes.add(prefix, prefix_node)
    discounts: dict[str, Decimal] = {}
    if (discount_node := f.get("channel_discounts")) is not None:
        d = source.mapping(discount_node, f.what("channel_discounts"), CHANNELS, noun="channel")
        for channel in d.present():
            if (value := d.get(channel)) is not None:
                percent = source.percent(value, d.what(channel), maximum=99)
                if percent == 0:
                    source.fail(value, f"{d.what(channel)} must be more than 0 (or leave it out)")
                discounts[channel] = percent
    plan_codes = Seen(source, f"{f.label}: plan code")
    # Package codes are unique per operator, not per plan: a package code alone names what is sold.
    package_codes = Seen(source, f"{f.label}: package code")
    plans = [
        _plan(source, n, i, plan_codes, package_codes)
        for i, n in enumerate(f.items("plans", at_least_one=True))
    ]
    promotions: list[PromotionSpec] = []
    if f.get("promotions") is not None:
        promotion_codes = Seen(source, f"{f.label}: promotion code")
        promotions = [
            _promotion(source, n, i, promotion_codes, plans)
            for i, n in enumerate(f.items("promotions", at_least_one=False))
        ]
    return OperatorSpec(
        code=code,
        name=name,
        names=names,
        colour=colour,
        ussd_code=ussd_code,
        web_url=web_url,
        care_number=care_number,
        number_prefixes=tuple(prefixes.lines),
        channel_discounts=discounts,
        plans=tuple(plans),
        promotions=tuple(promotions),
    )


def _plan(
    source: Source, node: yaml.Node, index: int, plan_codes: Seen, package_codes: Seen
) -> PlanSpec:
    keys = ("code", "name", "grace_days", "suspension_days", "recycle_days", "max_validity_days",
            "reminder_days", "packages")  # fmt: skip
    f = source.mapping(node, label_of("plan", node, index), keys)
    code = f.text("code", pattern=_CODE, hint=_CODE_HINT)
    plan_codes.add(code, f.need("code"))
    name = f.text("name")
    grace_days = f.integer("grace_days", minimum=0, maximum=MAX_DAYS)
    suspension_days = f.integer("suspension_days", minimum=0, maximum=MAX_DAYS)
    recycle_days = f.integer("recycle_days", minimum=0, maximum=MAX_DAYS)
    max_validity_days = f.integer("max_validity_days", minimum=1, maximum=MAX_DAYS)
    reminders = Seen(source, f"{f.what('reminder_days')}: day")
    for day_node in f.items("reminder_days", at_least_one=False):
        day = source.integer(day_node, f.what("reminder_days"), minimum=1, maximum=MAX_DAYS)
        reminders.add(str(day), day_node)
    packages = []
    for i, package_node in enumerate(f.items("packages", at_least_one=True)):
        package = _package(source, package_node, i, package_codes)
        if package.validity_days > max_validity_days:
            source.fail(
                value_node(package_node, "validity_days"),
                f"package {package.code!r}: validity_days {package.validity_days} is more than "
                f"the plan's max_validity_days {max_validity_days}",
            )
        packages.append(package)
    return PlanSpec(
        code=code,
        name=name,
        grace_days=grace_days,
        suspension_days=suspension_days,
        recycle_days=recycle_days,
        max_validity_days=max_validity_days,
        reminder_days=tuple(sorted((int(day) for day in reminders.lines), reverse=True)),
        packages=tuple(packages),
    )


def _package(source: Source, node: yaml.Node, index: int, package_codes: Seen) -> PackageSpec:
    keys = ("code", "name", "names", "price", "price_fils", "credit", "credit_fils",
            "validity_days", "channels")  # fmt: skip
    f = source.mapping(node, label_of("package", node, index), keys)
    code = f.text("code", pattern=_CODE, hint=_CODE_HINT)
    package_codes.add(code, f.need("code"))
    name = f.text("name")
    names: dict[str, str] = {}
    if (names_node := f.get("names")) is not None:
        names_map = source.mapping(names_node, f.what("names"), LANGUAGES, noun="language")
        names = {lang: names_map.text(lang) for lang in LANGUAGES}
    price = f.money("price", minimum=1)
    credit = f.optional_money("credit", minimum=0)
    return PackageSpec(
        code=code,
        name=name,
        names=names,
        price_fils=price,
        validity_days=f.integer("validity_days", minimum=1, maximum=MAX_DAYS),
        channels=f.choices("channels", CHANNELS, "channel"),
        credit_fils=price if credit is None else credit,
    )


# Which optional terms each kind of promotion takes; any other term is a mistake.
_KIND_TERMS = {
    "bonus_percent": ("bonus_percent", "bonus_validity_days"),
    "double_credit": ("bonus_validity_days",),
    "fixed_discount": ("discount", "discount_fils"),
    "spend_save": ("spend", "spend_fils", "save", "save_fils"),
}
_TERMS = ("bonus_percent", "bonus_validity_days", "discount", "discount_fils", "spend",
          "spend_fils", "save", "save_fils")  # fmt: skip


def _promotion(
    source: Source, node: yaml.Node, index: int, codes: Seen, plans: list[PlanSpec]
) -> PromotionSpec:
    keys = ("code", "name", "kind", *_TERMS, "channels", "packages", "plans", "starts_at",
            "ends_at", "per_line_limit")  # fmt: skip
    f = source.mapping(node, label_of("promotion", node, index), keys)
    code = f.text("code", pattern=_CODE, hint=_CODE_HINT)
    codes.add(code, f.need("code"))
    name = f.text("name")
    kind = source.choice(f.need("kind"), f.what("kind"), PROMOTION_KINDS, "kind")
    for term in _TERMS:
        if term not in _KIND_TERMS[kind] and (term_node := f.get(term)) is not None:
            source.fail(term_node, f"{f.what(term)} does not apply to a {kind} promotion")
    bonus_percent: int | None = None
    discount: int | None = None
    spend: int | None = None
    save: int | None = None
    if kind == "bonus_percent":
        bonus_percent = source.integer(
            f.need("bonus_percent", "1 to 500"), f.what("bonus_percent"), minimum=1, maximum=500
        )
    elif kind == "fixed_discount":
        discount = f.money("discount", minimum=1)
    elif kind == "spend_save":
        spend = f.money("spend", minimum=1)
        save = f.money("save", minimum=1)
        if save >= spend:
            source.fail(
                value_node(node, "save", "save_fils"),
                f"{f.what('save')} must be less than spend ({save} fils is not below {spend})",
            )
    bonus_validity = f.optional_integer("bonus_validity_days", minimum=1, maximum=MAX_DAYS)
    channels = f.choices("channels", CHANNELS, "channel") if f.get("channels") is not None else None
    plan_packages = {pk.code: plan.code for plan in plans for pk in plan.packages}
    packages: tuple[str, ...] | None = None
    if f.get("packages") is not None:
        packages = f.choices("packages", tuple(plan_packages), "package", scope=" in this operator")
    plan_scope: tuple[str, ...] | None = None
    if f.get("plans") is not None:
        plan_scope = f.choices(
            "plans", tuple(p.code for p in plans), "plan", scope=" in this operator"
        )
    if packages is not None and plan_scope is not None:
        for item in f.items("packages", at_least_one=True):
            if plan_packages[str(item.value)] not in plan_scope:
                source.fail(
                    item,
                    f"{f.what('packages')}: package {item.value!r} is not in any of the "
                    f"promotion's plans ({', '.join(plan_scope)}), so it could never apply",
                )
    if discount is not None:
        _check_discount(source, f, discount, plans, packages=packages, plan_scope=plan_scope)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    if (starts_node := f.get("starts_at")) is not None:
        starts_at = source.moment(starts_node, f.what("starts_at"), end_of_day=False)
    if (ends_node := f.get("ends_at")) is not None:
        ends_at = source.moment(ends_node, f.what("ends_at"), end_of_day=True)
        if starts_at is not None and ends_at <= starts_at:
            source.fail(ends_node, f"{f.what('ends_at')} must be after starts_at")
    return PromotionSpec(
        code=code,
        name=name,
        kind=kind,
        bonus_percent=bonus_percent,
        discount_fils=discount,
        spend_fils=spend,
        save_fils=save,
        channels=channels,
        packages=packages,
        plans=plan_scope,
        starts_at=starts_at,
        ends_at=ends_at,
        per_line_limit=f.optional_integer("per_line_limit", minimum=1, maximum=100_000),
        bonus_validity_days=BONUS_VALIDITY_DAYS if bonus_validity is None else bonus_validity,
    )


def _check_discount(
    source: Source,
    f: Fields,
    discount: int,
    plans: list[PlanSpec],
    *,
    packages: tuple[str, ...] | None,
    plan_scope: tuple[str, ...] | None,
) -> None:
    """Refuse a fixed discount that would give away a package it applies to for nothing."""
    for plan in plans:
        for package in plan.packages:
            in_scope = (packages is None or package.code in packages) and (
                plan_scope is None or plan.code in plan_scope
            )
            if in_scope and discount >= package.price_fils:
                source.fail(
                    value_node(f.node, "discount", "discount_fils"),
                    f"{f.what('discount')} of {discount} fils would make package "
                    f"{package.code!r} ({package.price_fils} fils) free: lower it or limit the "
                    "promotion's packages",
                )


def _payment_method(source: Source, node: yaml.Node, index: int, seen: Seen) -> PaymentMethodSpec:
    keys = ("method", "gateway", "fee_fixed", "fee_fixed_fils", "fee_percent", "channels")
    f = source.mapping(node, label_of("payment method", node, index, key="method"), keys)
    method = f.text("method", pattern=_METHOD, hint=_METHOD_HINT)
    seen.add(method, f.need("method"))
    gateway: str | None = None
    if method in IN_PERSON_METHODS:
        if (gateway_node := f.get("gateway", nullable=True)) is not None:
            source.fail(
                gateway_node, f"{f.what('gateway')}: {method} is paid in person, not online"
            )
    else:
        gateway_node = f.need(
            "gateway", "the online gateway that takes this payment: knet, tap or sandbox"
        )
        gateway = source.text(gateway_node, f.what("gateway"), pattern=_CODE, hint=_CODE_HINT)
    fee_fixed = f.optional_money("fee_fixed", minimum=0)
    fee_percent_node = f.get("fee_percent")
    fee_percent = Decimal(0)
    if fee_percent_node is not None:
        fee_percent = source.percent(
            fee_percent_node, f.what("fee_percent"), maximum=MAX_FEE_PERCENT
        )
    return PaymentMethodSpec(
        method=method,
        gateway=gateway,
        fee_fixed_fils=0 if fee_fixed is None else fee_fixed,
        fee_percent=fee_percent,
        channels=f.choices("channels", CHANNELS, "channel"),
    )
