"""The checks and tasks of Lab 3 and of its prerequisites (Labs 0–2), by name.

These declarations are the contract between `labs/lab-3-multi-region-prep/lab.yaml` and the
engine: the content names them, the linter proves every name exists, and each step's module
(`steps/<step>.py`) attaches the implementations of its own. The registries are Lab 3's own
(the plugin, `plugin.py`, hands them to the engine): another lab's names never collide with
these.
"""

from mmtui.engine.registry import CheckDecl, RegionScope, Registry, TaskDecl

CHECKS: Registry[CheckDecl] = Registry("check")
TASKS: Registry[TaskDecl] = Registry("task")

_CHECKS: list[tuple[str, str, RegionScope]] = [
    # Labs 0–2, verified before Lab 3 starts.
    ("prereq.primary_stack", "The workshop stack is deployed in the primary region", "primary"),
    ("prereq.table_seeded", "The mysfits table holds the twelve mysfits", "primary"),
    ("prereq.primary_services", "The Core and Like services run in the primary region", "primary"),
    ("prereq.pipelines_succeeded", "Both service pipelines last succeeded", "primary"),
    ("prereq.xray_groups", "The Lab 1 X-Ray groups exist in the primary region", "primary"),
    ("prereq.dashboard", "The Lab 2 dashboard exists with its X-Ray widget", "primary"),
    # Step 1: infrastructure.
    ("infrastructure.stack_complete", "The secondary stack is deployed and complete", "secondary"),
    (
        "infrastructure.stack_is_secondary",
        "The secondary stack runs with IsSecondary=true",
        "secondary",
    ),
    (
        "infrastructure.secondary_outputs",
        "The secondary stack has its secondary outputs",
        "secondary",
    ),
    (
        "infrastructure.cluster_and_services",
        "The secondary cluster has its Core and Like services",
        "secondary",
    ),
    ("infrastructure.registries", "The secondary region has both image repositories", "secondary"),
    ("infrastructure.load_balancer", "The secondary load balancer exists", "secondary"),
    # Step 2: data tier.
    ("data_tier.stream_enabled", "The table streams new and old images", "primary"),
    (
        "data_tier.replica_active",
        "A replica of the table is active in the secondary region",
        "secondary",
    ),
    (
        "data_tier.replica_items_match",
        "The replica holds the same mysfits as the primary",
        "secondary",
    ),
    # Step 3: pipeline.
    (
        "pipeline.core_cross_region_stage",
        "The Core pipeline deploys to the secondary region",
        "primary",
    ),
    (
        "pipeline.like_cross_region_stage",
        "The Like pipeline deploys to the secondary region",
        "primary",
    ),
    ("pipeline.artifact_stores", "Both pipelines have an artifact store in each region", "primary"),
    # Step 4: build artifacts.
    ("build_artifacts.core_buildspec", "The Core buildspec is on master", "primary"),
    ("build_artifacts.like_buildspec", "The Like buildspec is on master", "primary"),
    *[
        (f"build_artifacts.{service}_{key}", f"The {service.title()} buildspec: {what}", "primary")
        for service in ("core", "like")
        for key, what in (
            ("secondary_uri", "secondary repository URI set"),
            ("secondary_region", "secondary region set"),
            ("tag", "image tagged for the secondary registry"),
            ("login", "logged in to the secondary registry"),
            ("push", "image pushed to the secondary registry"),
            ("imagedefinitions", "imagedefinitions_secondary.json written"),
            ("artifact", "imagedefinitions_secondary.json shipped as an artifact"),
        )
    ],
    ("build_artifacts.pipelines_succeeded", "The last run of both pipelines succeeded", "primary"),
    (
        "build_artifacts.images_in_both_regions",
        "Both registries of each region hold the new images",
        "both",
    ),
    (
        "build_artifacts.deployed_to_secondary",
        "The last pipeline runs deployed to both regions",
        "primary",
    ),
    # Step 5: dashboard.
    (
        "dashboard.xray_groups_secondary",
        "The X-Ray groups exist in the secondary region",
        "secondary",
    ),
    (
        "dashboard.secondary_alb_widgets",
        "The dashboard graphs the secondary load balancer",
        "primary",
    ),
    (
        "dashboard.secondary_service_widgets",
        "The dashboard shows the secondary services' CPU and memory",
        "primary",
    ),
    (
        "dashboard.secondary_xray_widget",
        "The dashboard graphs the secondary X-Ray group",
        "primary",
    ),
    # Checkpoint.
    ("checkpoint.secondary_site", "The secondary site answers and shows its region", "secondary"),
]

_STEPS = ["infrastructure", "data_tier", "pipeline", "build_artifacts", "dashboard", "checkpoint"]

for _name, _title, _region in _CHECKS:
    CHECKS.declare(CheckDecl(_name, _title, _region))

for _step in _STEPS:
    _words = _step.replace("_", " ")
    TASKS.declare(TaskDecl(f"{_step}.solve", f"Do the {_words} step", "solve"))
    # The checkpoint's solve catches up: it solves the earlier steps that are not done.
    if _step != "checkpoint":  # the checkpoint only verifies: it creates nothing to undo
        TASKS.declare(TaskDecl(f"{_step}.reset", f"Undo the {_words} step", "reset"))
