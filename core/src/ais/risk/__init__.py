"""The risk layer: tokens (``tokens``), the engine that runs guards and signs (``engine``), and the
risk state machine with the kill switch (``state``)."""
