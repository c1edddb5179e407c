"""The local runtime: the real handlers on embedded mocked AWS (moto) or DynamoDB Local, on a simulated clock."""
