"""`conformance load`: load and soak a candidate with every answer judged (spec section 8, capacity).

Locust drives the users and shapes the rate in processes of its own (gevent's monkey-patching stays
there); this process keeps the harness inbox, matches every StatusNotification to its CO, and
judges the capacity the candidate claims.
"""
