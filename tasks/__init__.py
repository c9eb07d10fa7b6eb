"""Prefect tasks: one step or one side effect each; IDs and object keys in and out, never bytes."""
