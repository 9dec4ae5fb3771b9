"""The CLI's write discipline: atomic replace, --host gate, deterministic output."""
from __future__ import annotations

import os
import stat

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import case_data as cd
from packing import pack


def _model():
    train, hold = cd.iris()
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2000))])
    return pipe.fit(cd.X(train, "target"), train["target"]), hold


def _fake_host(path, body: str):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_rerun_is_byte_identical_and_replaces_the_bundle(tmp_path):
    model, hold = _model()
    rc, out = pack(tmp_path, model, hold, "target")
    assert rc == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "stale.onnx").write_text("old")  # a previous bundle's leftover
    rc, out = pack(tmp_path, model, hold, "target")
    assert rc == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert sorted(os.listdir(out.parent)) == [out.name]  # no temp dirs left


def test_failed_host_check_writes_nothing_and_keeps_the_old_bundle(tmp_path, capsys):
    model, hold = _model()
    rc, out = pack(tmp_path, model, hold, "target")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    host = _fake_host(tmp_path / "host", 'echo "worst row: data row 3"; exit 3\n')
    rc, out = pack(tmp_path, model, hold, "target", extra=["--host", host, "--version", "2.0.0"])
    assert rc == 1
    assert "worst row: data row 3" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(out.parent)) == [out.name]


def test_host_check_runs_package_on_the_bundle(tmp_path, capsys):
    model, hold = _model()
    # the fake host checks it was called as `package DIR -o FILE` on a complete bundle
    host = _fake_host(tmp_path / "host", '[ "$1" = package ] && [ -f "$2/manifest.json" ] && '
                      '[ -f "$2/model.json" ] && [ -f "$2/reference.json" ] && [ "$3" = -o ] '
                      '&& touch "$4"\n')
    rc, out = pack(tmp_path, model, hold, "target", extra=["--host", host])
    assert rc == 0, capsys.readouterr().err
    assert "component check passed" in capsys.readouterr().out
    assert (out / "manifest.json").exists()


def test_without_host_the_check_is_reported_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFN_HOST", raising=False)
    model, hold = _model()
    rc, _ = pack(tmp_path, model, hold, "target")
    assert rc == 0 and "component check skipped" in capsys.readouterr().out
