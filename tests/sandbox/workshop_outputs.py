"""The outputs of the workshop's stack, written out once from the workshop's table
(workshop-facts.md "Outputs (36 names)") for the tests that read them: which are exported, and
which each region shows."""

from __future__ import annotations

EXPORTED = {
    "CurrentRegion",
    "CurrentAccount",
    "EcsServiceRole",
    "ECSTaskRole",
    "VPCId",
    "PublicSubnetOne",
    "PublicSubnetTwo",
    "PrivateSubnetOne",
    "PrivateSubnetTwo",
    "FargateContainerSecurityGroup",
}
BOTH = EXPORTED | {
    "LoadBalancerDNS",
    "MythicalServiceTargetGroupArn",
    "LikeServiceTargetGroupArn",
    "EcsClusterName",
    "StackName",
    "CoreEcsServiceName",
    "LikeEcsServiceName",
    "LoadBalancerFullName",
}
# The primary's own outputs, and those it passes on from its CI/CD nested stack (the workshop's
# bootstrap scripts read them all from cfn-output.json): the workshop shows 30.
PRIMARY_OUTPUTS = BOTH | {
    "DynamoTable",
    "ProfileName",
    "CoreServiceEcrRepo",
    "LikeServiceEcrRepo",
    "CoreServiceTaskDefinition",
    "LikeServiceTaskDefinition",
    "CodeBuildRole",
    "CodePipelineRole",
    "MythicalLikeGitRepositoryCloneUrl",
    "MythicalLikeGitRepositoryName",
    "MythicalCoreGitRepositoryCloneUrl",
    "MythicalCoreGitRepositoryName",
}
# The two role outputs are exported under their nested stack's names for them.
PRIMARY_EXPORTS = {key: key for key in EXPORTED} | {
    "CodeBuildRole": "MythicalMysfitsServiceCodeBuildServiceRole",
    "CodePipelineRole": "MythicalMysfitsServiceCodePipelineServiceRole",
}
SECONDARY_OUTPUTS = BOTH | {
    "SecondaryRegion",
    "SecondaryLoadBalancerDNS",
    "SecondaryCoreServiceEcrRepo",
    "SecondaryLikeServiceEcrRepo",
    "SecondaryCoreServiceTaskDefinition",
    "SecondaryLikeServiceTaskDefinition",
}
