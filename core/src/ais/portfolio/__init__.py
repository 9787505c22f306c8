"""Portfolio accounting (``ledger``) and order sizing (``allocator``)."""
