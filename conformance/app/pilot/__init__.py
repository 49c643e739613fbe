"""`conformance pilot` (EFDX section 9, issue 20): the harness as the gateway between real NSWs,
judging every exchange in both directions without touching it.

One module per job:

- ``setup.py``: who takes part (each party's ICS, its CA and CRL) and the gateway (pilot.toml);
- ``traffic.py``: every relay the gateway hands over, with the envelope fields read from a parse of
  its own (the bytes forwarded are never touched), and waits on them;
- ``judging.py``: each request as its receiver must judge it (the family's judge, at the time it
  passed, against what that receiver has taken before) and each synchronous answer as its sender
  must (the load run's answer judge: the suite's own checks);
- ``conversations.py``: end to end, over the whole record: statuses (A-01..A-04), verification
  (A-05) and retries (M-21, G-03);
- ``reach.py``: a party that stopped answering mid-pilot, and the findings that follow from it set
  aside (its pairs incomplete, never its partner's fault);
- ``matrix.py``: findings into the matrix of ordered pairs by message kind, verdicts per pair and
  the requirements each party broke as sender and as receiver;
- ``script.py``: scripted traffic through each party's test trigger; ``preflight.py``: the checks
  before traffic (exit 4);
- ``embedded.py``: three embedded reference NSWs routed through the gateway;
- ``live.py``: the live line while traffic runs (on a terminal; plain lines in a pipe);
- ``report.py``: the terminal table and results.json; ``session.py``: one pilot from start to end.
"""
