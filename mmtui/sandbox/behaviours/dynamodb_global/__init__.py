"""DynamoDB global tables (version 2019.11.21): the sandbox extension is in global_tables.py."""

from __future__ import annotations

from mmtui.sandbox.behaviours.dynamodb_global.global_tables import DynamoDBGlobalTables

__all__ = ["DynamoDBGlobalTables"]
