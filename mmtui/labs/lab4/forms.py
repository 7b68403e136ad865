"""Lab 4's console wizard as four forms, one per step: what the Global Accelerator console asks
(the accelerator's name and address type; the listener's ports, protocol and affinity; each
endpoint group's region and dial; each endpoint's load balancer, weight and client address),
with choices read from the account, making the calls the console makes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from mmtui.engine.context import CheckContext
from mmtui.engine.tasks import TaskContext
from mmtui.labs.common.forms import (
    Applied,
    Choice,
    Field,
    Form,
    FormInvalid,
    Problem,
    Values,
    available_regions,
    entered_text,
    unknown_choice,
)
from mmtui.labs.lab4.accelerator import (
    DEFAULT_WEIGHT,
    GA_REGION,
    accelerators_named,
    groups_of,
    listeners_of,
    port_text,
    workshop_listener,
)

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$")
"""What Global Accelerator accepts as an accelerator's name: 1-64 letters, digits, periods and
hyphens, neither first nor last a period or hyphen."""
PORTS = re.compile(r"^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$")


def _ga(ctx: CheckContext | TaskContext) -> Any:
    return ctx.client("globalaccelerator", GA_REGION)


def _the_accelerator(ctx: CheckContext) -> dict[str, Any] | None:
    found = accelerators_named(_ga(ctx), ctx.param("accelerator"))
    return found[0] if len(found) == 1 else None


def _apply_live(ctx: TaskContext) -> dict[str, Any]:
    from mmtui.labs.lab4.reads import required_accelerator

    return required_accelerator(ctx)


# ---------------------------------------------------------------------- step 1


@dataclass(frozen=True)
class AcceleratorForm(Form):
    """Global Accelerator console → Create accelerator (its first page)."""

    step: ClassVar[str] = "accelerator"
    title: ClassVar[str] = "Create accelerator"

    suggested: str
    existing: tuple[str, ...]
    """Names of the account's accelerators."""

    @classmethod
    def load(cls, ctx: CheckContext) -> AcceleratorForm:
        names = tuple(
            str(a.get("Name", ""))
            for page in _ga(ctx).get_paginator("list_accelerators").paginate()
            for a in page.get("Accelerators", [])
        )
        return cls(ctx.param("accelerator"), names)

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        return (
            Field(
                "name",
                "Accelerator name",
                "text",
                default=self.suggested,
                help="The lab checks an accelerator of this name.",
            ),
            Field(
                "ip_type",
                "IP address type",
                "choice",
                default="IPV4",
                choices=(Choice("IPV4", "IPv4"), Choice("DUAL_STACK", "Dual-stack")),
                help="The workshop's load balancers are IPv4.",
            ),
        )

    def validate(self, values: Values) -> list[Problem]:
        problems = []
        name = entered_text(values, "name") or self.suggested
        if not NAME.match(name):
            problems.append(
                Problem(
                    "name",
                    "1 to 64 letters, digits, periods or hyphens, not starting or ending with a "
                    "period or hyphen.",
                )
            )
        kind = entered_text(values, "ip_type") or "IPV4"
        if kind not in ("IPV4", "DUAL_STACK"):
            problems.append(
                Problem("ip_type", unknown_choice(kind, ("IPV4", "DUAL_STACK"), "a type"))
            )
        return problems

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        from mmtui.labs.lab4.steps.accelerator import ensure_accelerator

        name = entered_text(values, "name") or self.suggested
        done = ensure_accelerator(ctx, name, entered_text(values, "ip_type") or "IPV4")
        return Applied((done,) if done else ())


# ---------------------------------------------------------------------- step 2


@dataclass(frozen=True)
class ListenerForm(Form):
    """The wizard's "Add listeners" page."""

    step: ClassVar[str] = "listener"
    title: ClassVar[str] = "Add listener"

    accelerator: str
    """The accelerator's name and DNS name ("" when there is none)."""
    current: str
    """The listener on port 80 now ("" when there is none)."""

    @classmethod
    def load(cls, ctx: CheckContext) -> ListenerForm:
        accelerator = _the_accelerator(ctx)
        if accelerator is None:
            return cls("", "")
        listener = workshop_listener(listeners_of(_ga(ctx), str(accelerator["AcceleratorArn"])))
        shown = f"{accelerator['Name']} ({accelerator.get('DnsName', '')})"
        return cls(shown, "" if listener is None else port_text(listener))

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        return (
            Field("accelerator", "Accelerator", "info", default=self.accelerator or "none yet"),
            Field(
                "ports",
                "Ports",
                "text",
                default="80",
                help="A port or a range (from-to)."
                + (f" Now: {self.current}." if self.current else ""),
            ),
            Field(
                "protocol",
                "Protocol",
                "choice",
                default="TCP",
                choices=(Choice("TCP", "TCP"), Choice("UDP", "UDP")),
            ),
            Field(
                "affinity",
                "Client affinity",
                "choice",
                default="NONE",
                choices=(Choice("NONE", "None"), Choice("SOURCE_IP", "Source IP")),
                help="None places each connection on its own, so the dials move traffic at once.",
            ),
        )

    def validate(self, values: Values) -> list[Problem]:
        problems = []
        if not self.accelerator:
            problems.append(Problem(None, "There is no accelerator yet: step 1 creates it."))
        if _ports(entered_text(values, "ports") or "80") is None:
            problems.append(Problem("ports", "A port (1-65535) or a range such as 80-81."))
        if (entered_text(values, "protocol") or "TCP") not in ("TCP", "UDP"):
            problems.append(Problem("protocol", "TCP or UDP."))
        if (entered_text(values, "affinity") or "NONE") not in ("NONE", "SOURCE_IP"):
            problems.append(Problem("affinity", "None or Source IP."))
        return problems

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        from mmtui.labs.lab4.steps.listener import ensure_listener

        ports = _ports(entered_text(values, "ports") or "80")
        assert ports is not None
        done = ensure_listener(
            ctx,
            ports,
            entered_text(values, "protocol") or "TCP",
            entered_text(values, "affinity") or "NONE",
        )
        return Applied((done,) if done else ())


def _ports(text: str) -> tuple[int, int] | None:
    match = PORTS.match(text)
    if not match:
        return None
    low = int(match[1])
    high = int(match[2] or match[1])
    if not 1 <= low <= high <= 65535:
        return None
    return low, high


# ---------------------------------------------------------------------- step 3


@dataclass(frozen=True)
class EndpointGroupForm(Form):
    """The wizard's "Add endpoint groups" page, one group at a time."""

    step: ClassVar[str] = "endpoint-groups"
    title: ClassVar[str] = "Add endpoint group"

    listener: str
    """The listener's ports ("" when there is none)."""
    dials: tuple[tuple[str, float], ...]
    """Region → dial of the groups there now."""
    regions: tuple[str, ...]
    regions_from: str
    lab_regions: tuple[str, str]

    @classmethod
    def load(cls, ctx: CheckContext) -> EndpointGroupForm:
        accelerator = _the_accelerator(ctx)
        listener = (
            None
            if accelerator is None
            else workshop_listener(listeners_of(_ga(ctx), str(accelerator["AcceleratorArn"])))
        )
        groups = [] if listener is None else groups_of(_ga(ctx), str(listener["ListenerArn"]))
        regions, source = available_regions(ctx, "elbv2")
        return cls(
            "" if listener is None else port_text(listener),
            tuple(
                (str(g["EndpointGroupRegion"]), float(g.get("TrafficDialPercentage", 100)))
                for g in groups
            ),
            regions,
            source,
            (ctx.primary_region, ctx.secondary_region),
        )

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        have = dict(self.dials)
        missing = [r for r in self.lab_regions if r not in have]
        return (
            Field("listener", "Listener", "info", default=self.listener or "none yet"),
            Field(
                "groups",
                "Groups now",
                "info",
                default=", ".join(f"{r} {d:g}%" for r, d in self.dials) or "none",
            ),
            Field(
                "region",
                "Region",
                "choice",
                default=missing[0] if missing else self.lab_regions[0],
                choices=tuple(
                    Choice(r, f"{r} (has a group: {have[r]:g}%)" if r in have else r)
                    for r in self.regions
                ),
            ),
            Field(
                "dial",
                "Traffic dial (%)",
                "text",
                default="100",
                help="The share of this region's traffic the group accepts.",
            ),
        )

    def validate(self, values: Values) -> list[Problem]:
        problems = []
        if not self.listener:
            problems.append(Problem(None, "The accelerator has no listener yet: step 2 adds it."))
        region = entered_text(values, "region") or self.fields(values)[2].default
        if region not in self.regions:
            known = f"a region this account can use ({self.regions_from})"
            problems.append(Problem("region", unknown_choice(region, self.regions, known)))
        if _dial(entered_text(values, "dial") or "100") is None:
            problems.append(Problem("dial", "A percentage from 0 to 100."))
        return problems

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        from mmtui.labs.lab4.steps.endpoint_groups import ensure_group

        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        region = entered_text(values, "region") or self.fields(values)[2].default
        dial = _dial(entered_text(values, "dial") or "100")
        assert dial is not None
        done = ensure_group(ctx, region, dial)
        return Applied((done,) if done else ())


def _dial(text: str) -> float | None:
    try:
        value = float(text.rstrip("%").strip())
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


# ---------------------------------------------------------------------- step 4


@dataclass(frozen=True)
class EndpointForm(Form):
    """The wizard's "Add endpoints" page: a load balancer into a region's group."""

    step: ClassVar[str] = "endpoints"
    title: ClassVar[str] = "Add endpoint"

    groups: tuple[str, ...]
    """Regions of the listener's groups."""
    balancers: tuple[tuple[str, str, str], ...]
    """(region, ARN, name) of the application load balancers of those regions."""
    members: tuple[tuple[str, str], ...]
    """(region, endpoint ARN) already in the groups."""
    lab_regions: tuple[str, str]

    @classmethod
    def load(cls, ctx: CheckContext) -> EndpointForm:
        accelerator = _the_accelerator(ctx)
        listener = (
            None
            if accelerator is None
            else workshop_listener(listeners_of(_ga(ctx), str(accelerator["AcceleratorArn"])))
        )
        groups = [] if listener is None else groups_of(_ga(ctx), str(listener["ListenerArn"]))
        regions = tuple(str(g["EndpointGroupRegion"]) for g in groups)
        balancers = [
            (region, str(balancer["LoadBalancerArn"]), str(balancer["LoadBalancerName"]))
            for region in regions
            for page in ctx.client("elbv2", region)
            .get_paginator("describe_load_balancers")
            .paginate()
            for balancer in page.get("LoadBalancers", [])
            if balancer.get("Type") == "application"
        ]
        members = tuple(
            (str(g["EndpointGroupRegion"]), str(e["EndpointId"]))
            for g in groups
            for e in g.get("EndpointDescriptions", [])
        )
        return cls(regions, tuple(balancers), members, (ctx.primary_region, ctx.secondary_region))

    def _default_region(self) -> str:
        empty = [
            r
            for r in self.lab_regions
            if r in self.groups and not any(m[0] == r for m in self.members)
        ]
        return empty[0] if empty else (self.groups[0] if self.groups else "")

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        region = entered_text(values or {}, "region") or self._default_region()
        here = [(arn, name) for r, arn, name in self.balancers if r == region]
        added = {arn for r, arn in self.members if r == region}
        return (
            Field(
                "region",
                "Endpoint group",
                "choice",
                default=self._default_region(),
                choices=tuple(Choice(r, r) for r in self.groups),
            ),
            Field(
                "balancer",
                "Application Load Balancer",
                "choice",
                default=here[0][0] if here else "",
                choices=tuple(
                    Choice(arn, f"{name} (already an endpoint)" if arn in added else name)
                    for arn, name in here
                ),
                depends_on=("region",),
            ),
            Field("weight", "Weight", "text", default=str(DEFAULT_WEIGHT), help="0 to 255."),
            Field(
                "preserve",
                "Preserve client IP address",
                "choice",
                default="yes",
                choices=(Choice("yes", "Yes"), Choice("no", "No")),
            ),
        )

    def validate(self, values: Values) -> list[Problem]:
        problems = []
        if not self.groups:
            problems.append(Problem(None, "The listener has no endpoint groups yet: step 3."))
            return problems
        fields = self.fields(values)
        region = entered_text(values, "region") or fields[0].default
        if region not in self.groups:
            problems.append(
                Problem("region", unknown_choice(region, self.groups, "a group's region"))
            )
        balancer = entered_text(values, "balancer") or fields[1].default
        if balancer not in fields[1].values():
            problems.append(
                Problem("balancer", f"Choose an application load balancer of {region}.")
            )
        weight = entered_text(values, "weight") or str(DEFAULT_WEIGHT)
        if not weight.isdigit() or not 0 <= int(weight) <= 255:
            problems.append(Problem("weight", "A whole number from 0 to 255."))
        return problems

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        from mmtui.labs.lab4.reads import live_groups, required_listener

        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        fields = self.fields(values)
        region = entered_text(values, "region") or fields[0].default
        balancer = entered_text(values, "balancer") or fields[1].default
        group = live_groups(ctx, required_listener(ctx)).get(region)
        if group is None:
            raise FormInvalid([Problem("region", f"There is no {region} group any more.")])
        from mmtui.labs.lab4.steps.endpoints import add_endpoint

        name = balancer.rsplit("/", 2)[-2]
        done = add_endpoint(
            ctx,
            group,
            balancer,
            name,
            int(entered_text(values, "weight") or DEFAULT_WEIGHT),
            (entered_text(values, "preserve") or "yes") == "yes",
        )
        return Applied((done,) if done else ())


FORMS: dict[str, Any] = {
    form.step: form for form in (AcceleratorForm, ListenerForm, EndpointGroupForm, EndpointForm)
}
"""Step id → its form."""
