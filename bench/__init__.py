"""``make bench``: Baton measured against the floor, as ratios within one run (absolute times on shared machines
are noise; ratios hold). Entry point: ``python -m bench.run``; results in bench/results.json.

Modules: ``hooks`` (DynamoDB requests counted, capacity read, parameters kept, through botocore events),
``world`` (the bench policy, seeded customers, events), ``decisions`` (the arbiter handler against the bare
DynamoDB calls, scale), ``engine`` (the pure engine on one core), ``lambda_like`` (fresh interpreters: cold
start, peak RSS, log bytes), ``cost`` (published prices applied to the measured counts).
"""
