"""The trading cycle: clocks (``clock``), the coordinator that runs one cycle after another
(``coordinator``), recovery after a restart (``recovery``), and the run's set-up (``runner``)."""
