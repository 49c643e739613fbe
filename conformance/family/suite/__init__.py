"""The family's shared suite: the steps (send, wait, judge) and deliveries every pack's suite uses, and
the suite modules each pack's suite folder star-imports (``from conformance.family.suite.test_tls
import *``), run with that pack's dialect. The pack's suite folder keeps the file names, so test IDs
are ``efdx/test_tls.py::...`` and ``rcpx/test_tls.py::...``. Harness-facing: imports
``conformance.harness``."""
