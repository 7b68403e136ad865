"""CloudFormation as Lab 3 step 1 needs it: moto 5.2.1's stacks, corrected to behave as AWS.

Step 1 is one `aws cloudformation deploy` of the workshop template into the secondary region;
the attendee (and mmtui's checks) then read the stack's outputs, watch its events and, at the
end, delete it. moto gets most of that wrong (moto-limits.md §1-§3), so this package replaces
the parts of moto's CloudFormation engine involved. Everything is patched on moto's own classes
and module functions, once per process: the objects in moto's backends stay moto's own, so the
sandbox's pickled state loads with or without this package.

What changes, and which moto internals carry it:

* Template reading (`cloudformation.utils.yaml_tag_constructor`, `parsing.clean_json`; the
  `yaml` of `models` and `responses`, parsing with libyaml: template_speed.py):
  `!Condition X` inside `!Not`/`!And`/`!Or` is a condition reference, short-form tags on
  mappings are read as mappings, and `Fn::GetAZs` answers the zones of the region it names
  (or of the stack's region), not always us-east-1's.
* Outputs (`parsing.OutputMap.exports`, `models.Stack.outputs`): an output whose Condition is
  false exports nothing, and each output shows its own export name (moto matched exports by
  value, so two outputs with one value shared a name).
* Resource properties moto ignores: `LoadBalancerFullName` (and `SecurityGroups`,
  `CanonicalHostedZoneID`) of a load balancer; ECS services' launch type, network
  configuration and load balancers; task definitions' CPU, memory, network mode, roles and
  compatibilities; load balancer and target group attributes; VPC DNS attributes; subnets'
  public IP mapping; security group rules for all protocols (`IpProtocol: -1`, no ports).
* Stack lifecycle (`models.CloudFormationBackend`, `models.Stack`, `models.ChangeSet`,
  `parsing.ResourceMap`): resources are created in dependency order with
  CREATE_IN_PROGRESS/CREATE_COMPLETE events each; a resource that fails rolls the stack back
  (ROLLBACK_COMPLETE, as AWS); change sets compute their changes with the new parameters'
  conditions, keep Outputs and Exports when executed, and a change set without changes fails
  with AWS's reason instead of CreateChangeSet refusing it; updates add, modify and then
  remove resources with events; deletion removes every resource the stack made, dependants
  first, with events, and a stack that cannot be deleted stays as DELETE_FAILED instead of
  vanishing and leaking its resources.

* Lambda (../lambda_blocked_runtimes.py): a function on a runtime whose creation
  AWS blocks fails its resource with Lambda's refusal, so the workshop's python3.7 clean-up
  function rolls a new stack back, as on AWS. Custom resources answer SUCCESS at once without
  running their function's code (the workshop's CleanDelete answers SUCCESS on Create and
  Update; on Delete, deletion.py does the workshop's CleanDelete function's work: the
  repositories force-deleted and, in the primary, the cluster's services), but their function
  must exist. Otherwise a deletion is refused as AWS refuses it: a bucket with objects, a
  repository with images (unless EmptyOnDelete), a cluster with active services, a security
  group or subnet still holding a network interface, each with AWS's words in its event.
* Change sets: an UPDATE change set is refused for a stack under review (never created),
  rolled back, failed or busy (any *_IN_PROGRESS), with AWS's ValidationError messages.
* Nested stacks and the CI/CD resource types moto lacks (nested_stacks.py): the workshop's
  primary stack creates its CI/CD and dashboard stacks as on AWS; `!GetAtt A.B.C` is
  attribute `B.C` of `A`, as AWS reads it; a settled stack's outputs are evaluated on each read.

Creation and deletion are synchronous by default (a stack is complete when
CreateStack/ExecuteChangeSet returns: the CLI's waiters finish on their first poll). With
`stack_create_seconds` / `stack_delete_seconds` (environment: MMTUI_SANDBOX_STACK_CREATE_SECONDS,
MMTUI_SANDBOX_STACK_DELETE_SECONDS) a stack stays CREATE_IN_PROGRESS (no resources, no outputs
yet) or DELETE_IN_PROGRESS for that long; the work is done on the first request after it.
A stack created with `created_earlier` is backdated: made as on that day (runtimes accepted
then are accepted) and complete at once, as Lab 0's stack is by the time Lab 3 starts.
"""

from __future__ import annotations

from mmtui.sandbox.moto_repairs.cloudformation import (
    custom_resources,
    lifecycle,
    nested_stacks,
    outputs,
    resource_properties,
    template_reading,
    template_speed,
)


def install() -> None:
    """Patch moto's CloudFormation engine (called once, by moto_repairs.install; importing
    moto's CloudFormation costs about a second)."""
    template_reading.install()
    template_speed.install()
    outputs.install()
    resource_properties.install()
    lifecycle.install()
    custom_resources.install()
    nested_stacks.install()
