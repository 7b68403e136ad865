"""The IAM actions each check and task of Lab 3 needs, declared beside the catalogue.

`mmtui policy` prints the least-privilege policy from these; the registry refuses to load when
a registered check or task has no entry here. tests/engine/test_permissions_declared.py walks
the lab on the sandbox, records every AWS call (and git request) each unit makes, and requires
each entry to be exactly what its unit calls: when a check starts calling something new, that
test names it.

`ON_BEHALF` holds what AWS checks against the caller for work a call starts, which no
recording of mmtui's own calls can see: CloudFormation creates the template's resources as
the caller (step 1 passes no service role), DynamoDB creates the replica in the other region
as the caller (step 2), CodePipeline's UpdatePipeline passes the pipeline's role (step 3).
"""

from __future__ import annotations

import mmtui.labs.lab3.catalog  # noqa: F401  (declares the names given permissions here)
from mmtui.engine.registry import LabPermissions, OnBehalf, declare_permissions
from mmtui.labs.lab3.buildspec import PIECE_CHECKS


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


# What many checks read through the facts (facts.py).
_STACKS = "cloudformation:DescribeStacks"
_PIPELINES = ("codepipeline:ListPipelines", "codepipeline:GetPipeline")
_LAST_RUNS = ("codepipeline:ListPipelines", "codepipeline:ListPipelineExecutions")
# A failed last run is explained: the failed action from the pipeline's state, and for a
# build the last error of its log.
_WHY_A_RUN_FAILED = (
    "codepipeline:GetPipelineState",
    "codebuild:BatchGetBuilds",
    "logs:GetLogEvents",
)
_BUILDSPEC = _actions(_STACKS, *_PIPELINES, "codecommit:GetFile")
_RUNNING_IMAGES = (_STACKS, *_LAST_RUNS, "ecs:DescribeServices", "ecs:DescribeTaskDefinition")
# A stack that failed or is being deleted is explained from its events (stack_events.py).
_STACK_STATUS = (_STACKS, "cloudformation:DescribeStackEvents")
# Every dashboard of the primary region, by name, then each body (facts.dashboards); a
# dashboard back to primary-only is explained when step 5's X-Ray groups exist (the hint).
_DASHBOARDS = ("cloudwatch:ListDashboards", "cloudwatch:GetDashboard", "xray:GetGroups")

CHECKS: dict[str, frozenset[str]] = {
    # Labs 0-2.
    "prereq.primary_stack": _actions(*_STACK_STATUS),
    "prereq.table_seeded": _actions("dynamodb:Scan"),
    "prereq.primary_services": _actions(_STACKS, "ecs:DescribeServices"),
    "prereq.pipelines_succeeded": _actions(*_LAST_RUNS, *_WHY_A_RUN_FAILED),
    "prereq.xray_groups": _actions("xray:GetGroups"),
    "prereq.dashboard": _actions("cloudwatch:GetDashboard"),
    # Step 1.
    "infrastructure.stack_complete": _actions(*_STACK_STATUS),
    "infrastructure.stack_is_secondary": _actions(_STACKS),
    "infrastructure.secondary_outputs": _actions(_STACKS),
    "infrastructure.cluster_and_services": _actions(
        _STACKS, "ecs:DescribeClusters", "ecs:DescribeServices"
    ),
    "infrastructure.registries": _actions(_STACKS, "ecr:DescribeRepositories"),
    "infrastructure.load_balancer": _actions(_STACKS, "elasticloadbalancing:DescribeLoadBalancers"),
    # Step 2.
    "data_tier.stream_enabled": _actions("dynamodb:DescribeTable"),
    "data_tier.replica_active": _actions("dynamodb:DescribeTable"),
    # A replica that cannot be read yet: the primary's replica list says whether it is coming.
    "data_tier.replica_items_match": _actions("dynamodb:Scan", "dynamodb:DescribeTable"),
    # Step 3.
    "pipeline.core_cross_region_stage": _actions(_STACKS, *_PIPELINES),
    "pipeline.like_cross_region_stage": _actions(_STACKS, *_PIPELINES),
    "pipeline.artifact_stores": _actions(*_PIPELINES),
    # Step 4.
    **{
        f"build_artifacts.{service}_{piece}": _BUILDSPEC
        for service in ("core", "like")
        for piece in ("buildspec", *PIECE_CHECKS)
    },
    "build_artifacts.pipelines_succeeded": _actions(*_LAST_RUNS, *_WHY_A_RUN_FAILED),
    "build_artifacts.images_in_both_regions": _actions(*_RUNNING_IMAGES, "ecr:DescribeImages"),
    "build_artifacts.deployed_to_secondary": _actions(*_RUNNING_IMAGES),
    # Step 5.
    "dashboard.xray_groups_secondary": _actions("xray:GetGroups"),
    "dashboard.secondary_alb_widgets": _actions(_STACKS, *_DASHBOARDS),
    "dashboard.secondary_service_widgets": _actions(_STACKS, *_DASHBOARDS),
    "dashboard.secondary_xray_widget": _actions(*_DASHBOARDS),
    # Checkpoint: the stack's outputs name the load balancer; the site is a plain HTTP GET.
    "checkpoint.secondary_site": _actions(_STACKS),
}

_SOLVES: dict[str, frozenset[str]] = {
    "infrastructure.solve": _actions(
        _STACKS,
        "cloudformation:GetTemplate",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStackEvents",
    ),
    # The stream mmtui turns on is tagged with its label, so that reset turns off only it.
    "data_tier.solve": _actions(
        "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:TagResource"
    ),
    "pipeline.solve": _actions(
        _STACKS, *_PIPELINES, "codepipeline:UpdatePipeline", "s3:ListBucket", "s3:CreateBucket"
    ),
    "build_artifacts.solve": _actions(
        _STACKS,
        *_PIPELINES,
        "codepipeline:ListPipelineExecutions",
        "codepipeline:GetPipelineState",
        # The build project's image decides how the buildspec logs in to ECR.
        "codebuild:BatchGetProjects",
        # A buildspec already on the remote whose last run did not reach the secondary region
        # (step 4 done before step 3) is released again and that run followed.
        "codepipeline:GetPipelineExecution",
        "codepipeline:StartPipelineExecution",
        "codecommit:GetRepository",
        # A clone missing from the workspace is cloned, a push the remote refuses is fetched
        # and rebased: GitPull; the finished buildspec is pushed: GitPush.
        "codecommit:GitPull",
        "codecommit:GitPush",
    ),
    "dashboard.solve": _actions(
        _STACKS,
        "xray:GetGroups",
        "xray:CreateGroup",
        "xray:UpdateGroup",
        "cloudwatch:GetDashboard",
        "cloudwatch:PutDashboard",
    ),
}

TASKS: dict[str, frozenset[str]] = {
    **_SOLVES,
    # The checkpoint's solve catches up: it runs the solves of steps 1 to 4.
    "checkpoint.solve": frozenset().union(
        *(
            _SOLVES[name]
            for name in (
                "infrastructure.solve",
                "data_tier.solve",
                "pipeline.solve",
                "build_artifacts.solve",
            )
        )
    ),
    "infrastructure.reset": _actions(
        _STACKS, "cloudformation:DeleteStack", "ecr:ListImages", "ecr:BatchDeleteImage"
    ),
    "data_tier.reset": _actions(
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:ListTagsOfResource",
        "dynamodb:UntagResource",
    ),
    "pipeline.reset": _actions(
        # The secondary stack's cluster tells the lab's stage under another name.
        _STACKS,
        *_PIPELINES,
        "codepipeline:UpdatePipeline",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:DeleteBucket",
    ),
    "build_artifacts.reset": _actions(
        *_PIPELINES,
        "codepipeline:ListPipelineExecutions",
        "codepipeline:GetPipelineState",
        "codecommit:GetRepository",
        "codecommit:GitPull",
        "codecommit:GitPush",
    ),
    "dashboard.reset": _actions(
        # The secondary stack's outputs name the metrics step 5 added.
        _STACKS,
        "xray:GetGroups",
        "xray:DeleteGroup",
        "cloudwatch:GetDashboard",
        "cloudwatch:PutDashboard",
    ),
}

# ---------------------------------------------------------------------- on the caller's behalf

TEMPLATE_RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    # What CloudFormation calls, as the caller, to create, update and delete each resource type
    # of the workshop template (AWS's resource type schemas, `handlers` permissions).
    "AWS::EC2::VPC": (
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "ec2:DescribeVpcs",
        "ec2:ModifyVpcAttribute",
        "ec2:DescribeVpcAttribute",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ),
    "AWS::EC2::Subnet": (
        "ec2:CreateSubnet",
        "ec2:DeleteSubnet",
        "ec2:DescribeSubnets",
        "ec2:ModifySubnetAttribute",
    ),
    "AWS::EC2::InternetGateway": (
        "ec2:CreateInternetGateway",
        "ec2:DeleteInternetGateway",
        "ec2:DescribeInternetGateways",
    ),
    "AWS::EC2::VPCGatewayAttachment": (
        "ec2:AttachInternetGateway",
        "ec2:DetachInternetGateway",
    ),
    "AWS::EC2::EIP": ("ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DescribeAddresses"),
    "AWS::EC2::NatGateway": (
        "ec2:CreateNatGateway",
        "ec2:DeleteNatGateway",
        "ec2:DescribeNatGateways",
    ),
    "AWS::EC2::RouteTable": (
        "ec2:CreateRouteTable",
        "ec2:DeleteRouteTable",
        "ec2:DescribeRouteTables",
    ),
    "AWS::EC2::Route": ("ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"),
    "AWS::EC2::SubnetRouteTableAssociation": (
        "ec2:AssociateRouteTable",
        "ec2:DisassociateRouteTable",
    ),
    "AWS::EC2::SecurityGroup": (
        "ec2:CreateSecurityGroup",
        "ec2:DeleteSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ),
    "AWS::EC2::VPCEndpoint": (
        "ec2:CreateVpcEndpoint",
        "ec2:DeleteVpcEndpoints",
        "ec2:DescribeVpcEndpoints",
        "ec2:ModifyVpcEndpoint",
    ),
    "AWS::DynamoDB::Table": (
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
    ),
    "AWS::ECR::Repository": (
        "ecr:CreateRepository",
        "ecr:DeleteRepository",
        "ecr:DescribeRepositories",
        "ecr:TagResource",
    ),
    "AWS::ECS::Cluster": ("ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters"),
    "AWS::ECS::Service": (
        "ecs:CreateService",
        "ecs:UpdateService",
        "ecs:DeleteService",
        "ecs:DescribeServices",
        "iam:PassRole",
    ),
    "AWS::ECS::TaskDefinition": (
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "iam:PassRole",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:AddTags",
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
    ),
    "AWS::ElasticLoadBalancingV2::Listener": (
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DescribeListeners",
    ),
    "AWS::ElasticLoadBalancingV2::ListenerRule": (
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:DeleteRule",
        "elasticloadbalancing:DescribeRules",
    ),
    "AWS::IAM::Role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:TagRole",
        "iam:PassRole",
    ),
    "AWS::Logs::LogGroup": (
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
    ),
    # The workshop's cleanup function and the custom resource that invokes it.
    "AWS::Lambda::Function": (
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetFunction",
        "iam:PassRole",
    ),
    "AWS::CloudFormation::CustomResource": ("lambda:InvokeFunction",),
    # Primary only (the secondary skips them), listed since the rule is the template's types.
    "AWS::IAM::InstanceProfile": (
        "iam:CreateInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:PassRole",
    ),
    "AWS::CloudFormation::Stack": (
        "cloudformation:CreateStack",
        "cloudformation:DescribeStacks",
        "cloudformation:UpdateStack",
        "cloudformation:DeleteStack",
    ),
}
"""Resource type → what the caller needs for CloudFormation to manage it. A test proves every
type of the workshop template (as the sandbox ships it) is listed."""

UNDOING = (
    "Delete",
    "Deregister",
    "Describe",
    "Detach",
    "Disassociate",
    "Get",
    "Release",
    "Revoke",
    "Invoke",  # the custom resource's function runs on delete too
)
"""The verbs of what deleting a stack calls (the rest of a type's actions create or update)."""

REPLICA_REGION_ACTIONS = _actions(
    # DynamoDB's documentation ("Global tables: IAM"): the caller of UpdateTable with a
    # replica must be allowed these in the replica's region.
    "dynamodb:CreateTable",
    "dynamodb:CreateTableReplica",
    "dynamodb:DescribeTable",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)

ON_BEHALF: dict[str, tuple[OnBehalf, ...]] = {
    "infrastructure.solve": (
        OnBehalf(
            "CloudFormationCreatesTheTemplateResourcesAsTheCaller",
            frozenset(a for actions in TEMPLATE_RESOURCE_ACTIONS.values() for a in actions),
        ),
    ),
    "infrastructure.reset": (
        OnBehalf(
            "CloudFormationDeletesTheTemplateResourcesAsTheCaller",
            frozenset(
                a
                for actions in TEMPLATE_RESOURCE_ACTIONS.values()
                for a in actions
                if a.split(":", 1)[1].startswith(UNDOING)
            )
            # A service is scaled to nothing before it is deleted.
            | {"ecs:UpdateService"},
        ),
    ),
    "data_tier.solve": (
        OnBehalf("DynamoDBCreatesTheReplicaAsTheCaller", REPLICA_REGION_ACTIONS),
        # The first global table of an account makes AWSServiceRoleForDynamoDBReplication.
        OnBehalf("DynamoDBMakesItsReplicationRole", _actions("iam:CreateServiceLinkedRole")),
    ),
    "data_tier.reset": (
        OnBehalf(
            "DynamoDBDeletesTheReplicaAsTheCaller",
            _actions("dynamodb:DeleteTable", "dynamodb:DeleteTableReplica"),
        ),
    ),
    "pipeline.solve": (OnBehalf("UpdatePipelinePassesThePipelineRole", _actions("iam:PassRole")),),
    "pipeline.reset": (OnBehalf("UpdatePipelinePassesThePipelineRole", _actions("iam:PassRole")),),
}
ON_BEHALF["checkpoint.solve"] = tuple(
    grant
    for name in ("infrastructure.solve", "data_tier.solve", "pipeline.solve")
    for grant in ON_BEHALF[name]
)

GUIDE = _actions(
    # What the guide reads beyond the checks: its inventory of the lab's resources
    # (inventory.py) and the choices its forms offer (forms.py).
    "cloudformation:DescribeStacks",
    "dynamodb:DescribeTable",
    "ecr:DescribeImages",
    "ecs:DescribeClusters",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "elasticloadbalancing:DescribeLoadBalancers",
    "codepipeline:ListPipelines",
    "codepipeline:GetPipeline",
    "codepipeline:GetPipelineState",
    "cloudwatch:GetDashboard",
    "ec2:DescribeRegions",
)

PERMISSIONS = declare_permissions(
    "3", LabPermissions({**CHECKS, **TASKS}, on_behalf=ON_BEHALF, guide=GUIDE)
)
