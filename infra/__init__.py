"""Baton's CDK app: one construct per concern, composed by a thin stack (see ``infra.stack``).

Importing this package does not import aws_cdk: ``infra.node`` must be able to put Node on PATH first.
"""
