"""`conformance load` for the family (EFDX 1.0, RCPX 1.0): what the engine's load run
(conformance/app/load/) gets from a pack through ``Profile.load``. The traffic mix and its
generator (made from the vector builders), the judging of answers with the suite's checks, the
harness inbox and the matching of its arrivals to what they answer, and the reference NSW's
declared capacity; all of it in the words of one Dialect."""
