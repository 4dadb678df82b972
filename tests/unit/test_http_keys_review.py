"""API keys as the verified-key cache and the audit log see them: a key's actor is stored NFC (the name every entry it
seals carries, hashed as is), and two keys verified by one process never answer for each other."""

from __future__ import annotations

import unicodedata

from motcua.adapters.keys import MemoryHttpStore, VerifiedKeys, new_key
from motcua.workflow.engine.clock import ManualClock


def test_a_key_for_a_name_typed_decomposed_is_stored_composed(clock: ManualClock) -> None:
    typed = unicodedata.normalize("NFD", " Nguyễn Thị Lan ")
    stored = new_key(typed, ["officer"], clock.now()).stored
    assert stored.actor == unicodedata.normalize("NFC", "Nguyễn Thị Lan") and stored.actor != typed.strip()


def test_two_keys_verified_by_one_process_each_answer_for_themselves(clock: ManualClock) -> None:
    store = MemoryHttpStore()
    commune = new_key("Phần mềm xã", ["officer"], clock.now(), units=["000.00.12.H01"])
    province = new_key("Thanh tra tỉnh", ["inspector"], clock.now(), province="hai-phong")
    store.add_key(commune.stored)
    store.add_key(province.stored)
    keys = VerifiedKeys(store, clock)
    assert keys.verify(commune.secret_text) == commune.stored and keys.verify(province.secret_text) == province.stored
    assert keys.recent(commune.secret_text) == commune.stored
    assert keys.recent(province.secret_text) == province.stored
    prefix, commune_id, _ = commune.secret_text.split("_", 2)  # mc_<key id>_<secret>; a secret may hold "_"
    forged = f"{prefix}_{commune_id}_{province.secret_text.split('_', 2)[2]}"  # one key's id, the other's secret
    assert keys.recent(forged) is None and keys.verify(forged) is None and keys.recent(forged) is None
