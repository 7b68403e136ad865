"""Load balancers that answer: every ELBv2 load balancer in the sandbox gets a loopback URL,
target health as an ALB keeps it, and the CloudWatch metrics of its traffic.

extension.py is the extension (servers, the background thread, the API hooks); topology.py
reads what stands behind a load balancer from moto; health.py keeps the targets' health;
site.py answers the workshop's site as the chosen target would; metrics.py counts and
publishes the traffic; api.py holds the API answers (DescribeTargetHealth, the refusal of a
customer's metrics in an `AWS/` namespace); servers.py the loopback HTTP servers.
"""

from mmtui.sandbox.behaviours.load_balancers.extension import LoadBalancers
from mmtui.sandbox.behaviours.load_balancers.site import CHAOS_ENV, SiteApp, as_api
from mmtui.sandbox.behaviours.load_balancers.topology import Balancer

__all__ = ["CHAOS_ENV", "Balancer", "LoadBalancers", "SiteApp", "as_api"]
