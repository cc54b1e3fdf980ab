"""`PolicySettings`: what the policy reads from the configuration, and the web UI link."""

from __future__ import annotations

import attrs

from teleport_pd_cli.config import AutoApprovalSettings, PagerDutySettings, RequestAnnotations

__all__ = ["PolicySettings"]


@attrs.frozen(kw_only=True)
class PolicySettings:
    """What the policy needs to know: annotation names, approval limits and the web UI link."""

    annotations: RequestAnnotations = attrs.field(factory=RequestAnnotations)
    auto_approval: AutoApprovalSettings = attrs.field(factory=AutoApprovalSettings)
    #: Base URL of the Teleport web UI, for the link in the incident body; None leaves it out.
    #: Known after Ping (see `web_proxy_url`).
    web_proxy_url: str | None = None

    @classmethod
    def from_config(
        cls, pagerduty: PagerDutySettings, *, web_proxy_url: str | None = None
    ) -> PolicySettings:
        return cls(
            annotations=pagerduty.request_annotations,
            auto_approval=pagerduty.auto_approval,
            web_proxy_url=web_proxy_url,
        )
