"""The event store: append-only, hash-chained, multi-writer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ais.domain.events import Event
from ais.store.events import EventStore


def filled(path: Path, n: int = 10) -> EventStore:
    store = EventStore(path, batch_size=4)
    for i in range(n):
        store.append("test", {"i": i, "client_order_id": f"c{i}"}, 1000 + i, "run")
    store.flush()
    return store


def test_batches_and_reads_back(tmp_path: Path) -> None:
    store = filled(tmp_path / "s.sqlite")
    events = list(store.events())
    assert [e.seq for e in events] == list(range(1, 11))
    assert events[3].payload == {"i": 3, "client_order_id": "c3"}
    assert store.verify() == (10, None)


def test_a_new_store_has_large_pages_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    from ais.store.events import PAGE_SIZE

    filled(tmp_path / "new.sqlite").close()
    assert sqlite3.connect(tmp_path / "new.sqlite").execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.execute("PRAGMA page_size=4096")
    db.execute("CREATE TABLE t (x)")  # the file exists: its page size is fixed
    db.close()
    store = EventStore(old)  # opens and extends the file as it is
    store.append("test", {"i": 1}, 1000, "run")
    store.close()
    assert sqlite3.connect(old).execute("PRAGMA page_size").fetchone()[0] == 4096
    assert EventStore(old).verify() == (1, None)


def test_update_and_delete_refused(tmp_path: Path) -> None:
    filled(tmp_path / "s.sqlite").close()
    db = sqlite3.connect(tmp_path / "s.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE events SET payload = '{}' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events WHERE seq = 3")


def test_edit_behind_the_triggers_back_is_found(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    filled(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_no_update")
    db.execute("""UPDATE events SET payload = '{"i":99}' WHERE seq = 6""")
    db.commit()
    _count, broken = EventStore(path, readonly=True).verify()
    assert broken is not None and broken.seq == 6


def test_two_writers_continue_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    a, b = EventStore(path), EventStore(path)
    a.append("x", {}, 1, "a", durable=True)
    b.append("y", {}, 2, "b", durable=True)
    a.append("z", {}, 3, "a", durable=True)
    assert [e.type for e in a.events()] == ["x", "y", "z"]
    assert a.verify()[1] is None


def test_listeners_get_stored_events(tmp_path: Path) -> None:
    seen: list[Event] = []
    store = EventStore(tmp_path / "s.sqlite", batch_size=100, on_stored=seen.extend)
    store.append("a", {"k": 1}, 5, "r")
    assert not seen  # buffered, not yet stored
    store.flush()
    assert [(e.seq, e.type, e.payload) for e in seen] == [(1, "a", {"k": 1})]


def test_not_a_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    from ais.errors import AisError

    with pytest.raises(AisError, match="not an AIS event store"):
        EventStore(bad)


def test_payload_text_round_trips_and_edge_values(tmp_path: Path) -> None:
    from ais.store.events import decode_payload, encode_payload

    payload = {"client_order_id": "ais-1", "quantity": 0.1, "price": 101.234567, "n": 3, "legs": [1, 2]}
    assert encode_payload(payload) == json.dumps(payload, separators=(",", ":"))  # compact, key order kept
    assert encode_payload({"big": 2**70}) == '{"big":1180591620717411303424}'  # beyond orjson: stdlib
    assert encode_payload({"x": float("nan"), "y": float("inf")}) == '{"x":null,"y":null}'
    assert decode_payload('{"x":NaN,"y":Infinity}')["y"] == float("inf")  # text older stores hold
    store = EventStore(tmp_path / "s.sqlite")
    store.append("note", {"text": "ünïcode ✓", "big": 2**70}, ts=1, run_id="r")
    store.close()
    (event,) = EventStore(tmp_path / "s.sqlite", readonly=True).events()
    assert event.payload == {"text": "ünïcode ✓", "big": 2**70}
