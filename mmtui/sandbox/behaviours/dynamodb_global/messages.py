"""DynamoDB's own error texts for global tables (typos included), as the service answers them."""

from __future__ import annotations

# AWS's own wording (including its typos): ValidationException unless noted.
ONLY_OPERATION = (
    "One or more parameter values were invalid: Replica modification must be the only "
    "operation in the request"
)
NO_ACTIONS = "There are no actions specified in the Replica Update Action of the request."
MIXED_ACTIONS = "Update table operation with more than one type of replica actions not allowed."
SEVERAL_ACTIONS = (
    "Update table operation with more than one create or delete replica actions not allowed."
)
LOCAL_REGION = (
    "Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, "
    "DeleteTable, or UpdateTable as required."
)
UNSUPPORTED_REGION = (
    "Region {region} is not supported. The latest version of global tables are only "
    "supported in the following regions: [{regions}]."
)
ALREADY_EXISTED = (
    "Failed to create a the new replica of table with name: \u2018{name}\u2019 because one or "
    "more replicas already existed as tables."
)
NOT_PART = (
    "Update global table operation failed because one or more replicas were not part of the "
    "global table. Please retry the request without these replicas: [{region}]."
)
SOURCE_REGION = (
    "Replica cannot be deleted because it has acted as a source region for new replica(s) "
    "being added to the table in the last 24 hours."
)
DELETION_PROTECTED = (
    "Cannot delete table {name} in region {region} because it has deletion protection "
    "enabled. Disable deletion protection first."
)
STREAM_DISABLE = (
    "One or more parameter values were invalid: Disabling Stream is not allowed for a Global "
    "Table replica."
)
STREAM_ENABLED = "Table already has an enabled stream: TableName: {name}"
TABLE_WRITE_CAPACITY = "Table write capacity should either be Pay-Per-Request or AutoScaled."
GSI_WRITE_CAPACITY = "GSI write capacity should either be Pay-Per-Request or AutoScaled."
IN_USE = "The resource which you are attempting to change is in use."  # ResourceInUseException
CREATING_IN_USE = "Attempt to change a resource which is still in use: Table: {name} is being used."
NOT_FOUND = "Requested resource not found: Table: {name} not found"  # ResourceNotFoundException
# ResourceInUseException while a stream is being enabled or disabled (the words AWS uses for a
# table in the process of an update).
BEING_UPDATED = (
    "Attempt to change a resource which is still in use: Table: {name} is in the process of "
    "being updated."
)
# A replica needs the table's stream with both images: global tables replicate from it. The
# shape is DynamoDB's parameter-validation message; the exact words AWS uses could not be
# checked here, so tests match on the code and the view type it names.
STREAM_REQUIRED = (
    "One or more parameter values were invalid: Table {name} must have DynamoDB Streams "
    "enabled with StreamViewType NEW_AND_OLD_IMAGES to add a replica (stream: {stream})."
)
