"""A classroom: ten sessions at once on one server process, each attacking its own image. All finish, none sees
another's result, the shared model is unchanged afterwards, and memory stays bounded."""
import gc
import hashlib
import resource
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from unittest.mock import MagicMock

import pytest
import torch
from streamlit.runtime.scriptrunner import script_cache
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from vacdemo import CLASS_NAMES, BetaVAC

pytestmark = pytest.mark.slow  # ten app sessions at once

SESSIONS = 10


def weights_hash(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def live_models() -> list[BetaVAC]:
    gc.collect()
    with warnings.catch_warnings():  # isinstance on every object touches deprecated torch aliases
        warnings.simplefilter("ignore", FutureWarning)
        return [o for o in gc.get_objects() if isinstance(o, BetaVAC)]


def student(i: int) -> tuple[int, tuple[str, str]]:
    """Session i: gallery class i % 10, sample 1 + i // 10 % 8, ε at its maximum. Returns what it was shown."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params = {"cls_mnist": str(i % 10), "sample_mnist": str(1 + i // 10 % 8), "eps_mnist_inf": "0.3"}
    at.run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if "PGD-40" in c.value)
    verdict = next(m.value for m in at.error if "(ε = 0.300)" in m.value)
    return i, (caption, verdict)


def serialise_script_compilation(monkeypatch) -> list:
    """A real server compiles app.py once, under its one ScriptCache's lock. Each AppTest has a cache of its own,
    and CPython 3.11's compiler is not thread-safe (seen: "SystemError: AST constructor recursion depth
    mismatch" with ten compiling at once), so the test serialises compilation as the server does. The sessions
    themselves still run at the same time."""
    lock, compile_script, calls = threading.Lock(), script_cache.ScriptCache.get_bytecode, []

    def locked(self, script_path):
        with lock:
            calls.append(script_path)
            return compile_script(self, script_path)
    monkeypatch.setattr(script_cache.ScriptCache, "get_bytecode", locked)
    return calls


def keep_a_runtime(monkeypatch) -> None:
    """A real server has one Runtime for all sessions. Each AppTest run installs a mock Runtime as the global
    instance and sets it back to None when it ends, so with ten at once one session's end can leave another
    without one (seen: "Runtime hasn't been created!" as a run clears its media). While the global is None,
    Runtime.instance() here answers with a mock built as AppTest builds its own."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    fallback = MagicMock(spec=Runtime)
    fallback.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    fallback.cache_storage_manager = MemoryCacheStorageManager()
    monkeypatch.setattr(Runtime, "instance",
                        classmethod(lambda cls: cls._instance if cls._instance is not None else fallback))


def test_ten_concurrent_sessions_share_one_unchanged_model(capsys, monkeypatch):
    compiled = serialise_script_compilation(monkeypatch)
    keep_a_runtime(monkeypatch)
    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()  # loads the shared model once
    assert not warm.exception
    before = {id(m): (m, weights_hash(m)) for m in live_models()}  # the page's cached model among them
    assert any(m.cfg.dataset == "mnist" and not m.training for m, _ in before.values())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = dict(pool.map(student, range(SESSIONS)))
    assert sorted(results) == list(range(SESSIONS)) and len(compiled) >= SESSIONS
    # no cross-talk: each session's result is about its own image (its caption names its class, and the verdict
    # says the attack moved the model off that class), and the ten test images differ
    for i, (caption, verdict) in results.items():
        name = CLASS_NAMES["mnist"][i % 10]
        assert f"({name})" in caption and "(ε = 0.300), ℓ2 size of the change " in verdict and "→ the model now says **" in verdict, (i, verdict)
        assert f"the model now says **{name}**" not in verdict, (i, verdict)
    assert len({c.split(" · ")[0] for c, _ in results.values()}) == SESSIONS
    # the shared model: same weights, eval mode, no gradients kept
    after = live_models()
    assert {id(m) for m in after} == set(before)  # one shared model for all sessions, not one each
    for m in after:  # same weights and statistics, still in eval mode
        assert weights_hash(m) == before[id(m)][1] and not m.training
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB (Linux)
    with capsys.disabled():
        print(f"\n[sessions] {SESSIONS} concurrent sessions: peak RSS {peak:.0f} MiB "
              f"(before them {rss_before / 1024:.0f} MiB), torch threads {torch.get_num_threads()}")
    assert peak < 4096
