"""UCIDataSource: the cache folder is read first (no network while it holds the dataset), a fetch
is written to it in plain CSV + JSON, categorical columns are one-hot encoded, and an offline
fetch fails fast with one message naming the id and the folder."""
from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer

from erasure.config import load_config
from erasure.data import DatasetManager, StratifiedSplit
from erasure.data.sources.base import DataLoadError
from erasure.data.sources.uci import UCIDataSource
from erasure.plan import prepare
from tests.helpers import run_family_config

pd = pytest.importorskip("pandas")
try:
    import ucimlrepo
except ImportError:  # reading the cache needs pandas alone; fetching needs ucimlrepo
    ucimlrepo = None
needs_ucimlrepo = pytest.mark.skipif(ucimlrepo is None, reason="ucimlrepo is not installed")

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "data" / "uci.jsonc"
N = 569
#: UCI's names of the 30 features of Breast Cancer Wisconsin (Diagnostic), in sklearn's order.
BASES = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
         "concave_points", "symmetry", "fractal_dimension"]
FEATURES = [f"{b}{i}" for i in (1, 2, 3) for b in BASES]


def breast_cancer() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """UCI id 17 as ``fetch_ucirepo`` returns it (ids, features, targets), built from sklearn's
    copy of the same dataset, plus two categorical features: ``clinic`` stored as integers 1..3
    (UCI type Categorical) and ``site`` stored as text."""
    bunch = load_breast_cancer()
    ids = pd.DataFrame({"ID": np.arange(N) + 842000})
    features = pd.DataFrame(bunch.data, columns=FEATURES)
    features["clinic"] = np.arange(N) % 3 + 1
    features["site"] = np.where(np.arange(N) % 2 == 0, "north", "south")
    targets = pd.DataFrame({"Diagnosis": np.where(bunch.target == 0, "M", "B")})
    return ids, features, targets


def variables_table(features: pd.DataFrame) -> pd.DataFrame:
    rows = [{"name": "ID", "role": "ID", "type": "Categorical"}]
    for name in features.columns:
        kind = {"clinic": "Categorical", "site": "Categorical"}.get(name, "Continuous")
        rows.append({"name": name, "role": "Feature", "type": kind})
    rows.append({"name": "Diagnosis", "role": "Target", "type": "Categorical"})
    for row in rows:
        row.update(demographic=None, description=None, units=None, missing_values="no")
    return pd.DataFrame(rows)


def write_cache(cache: Path, id: int = 17, *, categorical: list[str] | None = None,
                variables: bool = False, missing_row: int | None = None) -> Path:
    """Writes the cache format by hand, as a user without network access would."""
    ids, features, targets = breast_cancer()
    table = pd.concat([ids, features, targets], axis=1)
    if missing_row is not None:
        table = table.astype({"texture1": object})
        table.loc[missing_row, "texture1"] = "?"
    folder = cache / str(id)
    folder.mkdir(parents=True)
    table.to_csv(folder / "data.csv", index=False)
    meta = {"id": id, "name": "Breast Cancer Wisconsin (Diagnostic)",
            "features": list(features.columns), "targets": ["Diagnosis"], "ids": ["ID"]}
    if categorical is not None:
        meta["categorical"] = categorical
    if variables:
        meta["variables"] = json.loads(variables_table(features).to_json(orient="records"))
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def fetch_result(id: int = 17):
    """An object shaped like ``ucimlrepo.fetch_ucirepo``'s result (see ucimlrepo/fetch.py)."""
    from ucimlrepo.dotdict import dotdict

    ids, features, targets = breast_cancer()
    original = pd.concat([ids, features, targets], axis=1)
    data = dotdict({"ids": ids, "features": features, "targets": targets, "original": original,
                    "headers": original.columns})
    metadata = dotdict({"uci_id": id, "name": "Breast Cancer Wisconsin (Diagnostic)",
                        "num_instances": N, "data_url": "https://example.invalid/17/data.csv",
                        "additional_info": dotdict({"summary": "Features are computed from a "
                                                               "digitized image."}),
                        "intro_paper": None})
    return dotdict({"data": data, "metadata": metadata, "variables": variables_table(features)})


@pytest.fixture
def no_network(monkeypatch):
    """Any fetch, URL opening or socket raises."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    if ucimlrepo is not None:
        monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", refuse)
        monkeypatch.setattr("ucimlrepo.fetch.fetch_ucirepo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_cached_copy_loads_with_categorical_columns_one_hot(tmp_path, no_network):
    write_cache(tmp_path, categorical=["clinic", "site"])
    samples = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    bunch = load_breast_cancer()
    assert samples.x.shape == (N, 30 + 3 + 2)
    assert samples.x.dtype == torch.float32 and samples.y.dtype == torch.int64
    # numeric features raw (standardising is the data manager's, on the training partition)
    assert torch.allclose(samples.x[:, :30], torch.tensor(bunch.data, dtype=torch.float32))
    # clinic 1..3, stored as integers but categorical: one-hot in sorted order
    clinic = torch.tensor(np.arange(N) % 3)
    assert torch.equal(samples.x[:, 30:33], torch.nn.functional.one_hot(clinic, 3).float())
    site = torch.tensor(np.arange(N) % 2)
    assert torch.equal(samples.x[:, 33:35], torch.nn.functional.one_hot(site, 2).float())
    # Diagnosis B/M: sorted label map, so benign is 0 (sklearn has malignant 0)
    assert samples.class_names == ["B", "M"]
    assert samples.y.tolist() == (1 - torch.tensor(bunch.target)).tolist()
    assert torch.bincount(samples.y).tolist() == [357, 212]
    assert samples.groups == {}


def test_categorical_columns_from_the_variables_table(tmp_path):
    """Without a "categorical" list, UCI's variable types say which columns are categories."""
    write_cache(tmp_path, variables=True)
    samples = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert samples.x.shape == (N, 35)
    # neither list: an integer column is a number, a text column is still one-hot
    write_cache(tmp_path / "plain")
    plain = UCIDataSource(id=17, cache_dir=str(tmp_path / "plain")).load()
    assert plain.x.shape == (N, 30 + 1 + 2)
    assert plain.x[:3, 30].tolist() == [1.0, 2.0, 3.0]


def test_label_features_and_groups(tmp_path):
    write_cache(tmp_path, categorical=["clinic", "site"])
    samples = UCIDataSource(id=17, cache_dir=str(tmp_path), label_column="site",
                            feature_columns=["radius1", "texture1", "clinic"],
                            group_columns=["ID", "Diagnosis"]).load()
    assert samples.x.shape == (N, 2 + 3)
    assert samples.class_names == ["north", "south"]
    assert samples.y.tolist() == (np.arange(N) % 2).tolist()
    # integer ids stay as they are; text groups get sorted codes and their values
    assert samples.groups["ID"].tolist() == (np.arange(N) + 842000).tolist()
    assert samples.group_values == {"Diagnosis": ["B", "M"]}
    assert samples.groups["Diagnosis"].tolist() == samples_labels(tmp_path)


def samples_labels(cache: Path) -> list[int]:
    return UCIDataSource(id=17, cache_dir=str(cache)).load().y.tolist()


def test_missing_values_dropped_or_reported(tmp_path):
    write_cache(tmp_path, missing_row=5)
    samples = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert samples.x.shape[0] == N - 1
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path), drop_missing=False).load()
    assert "1 rows" in e.value.message and "UCI id 17" in e.value.message
    assert "drop_missing" in e.value.hint


def test_unknown_column_lists_the_available_ones(tmp_path):
    write_cache(tmp_path)
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path), group_columns=["patient"]).load()
    assert "UCIDataSource (UCI id 17)" in e.value.message and "'patient'" in e.value.message
    assert str(tmp_path / "17" / "data.csv") in e.value.message
    assert e.value.hint.startswith("Available columns: ID, radius1, texture1")
    assert "Diagnosis" in e.value.hint


def test_no_network_call_when_the_cache_holds_the_dataset(tmp_path, no_network):
    write_cache(tmp_path, categorical=["clinic", "site"])
    first = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    second = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert torch.equal(first.x, second.x) and torch.equal(first.y, second.y)


def test_cache_dir_expands_home(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_cache(tmp_path / ".cache" / "erasure" / "uci")
    source = UCIDataSource(id=17)
    assert source.folder == tmp_path / ".cache" / "erasure" / "uci" / "17"
    assert source.load().x.shape[0] == N


@needs_ucimlrepo
def test_fetch_is_written_to_the_cache_and_then_read_offline(tmp_path, monkeypatch):
    calls = []

    def fetch(name=None, id=None):
        calls.append(id)
        assert socket.getdefaulttimeout() == 7.0  # ucimlrepo's urlopen calls get the timeout
        return fetch_result(id)

    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", fetch)
    cache = tmp_path / "cache"
    fetched = UCIDataSource(id=17, cache_dir=str(cache), timeout=7.0).load()
    assert calls == [17]
    assert socket.getdefaulttimeout() is None
    folder = cache / "17"
    assert sorted(p.name for p in cache.iterdir()) == ["17"]  # no partial folder left behind
    assert sorted(p.name for p in folder.iterdir()) == ["data.csv", "metadata.json"]
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["features"] == FEATURES + ["clinic", "site"]
    assert meta["targets"] == ["Diagnosis"] and meta["ids"] == ["ID"]
    assert meta["categorical"] == ["ID", "clinic", "site", "Diagnosis"]
    assert meta["name"] == "Breast Cancer Wisconsin (Diagnostic)"
    assert meta["uci_metadata"]["additional_info"]["summary"].startswith("Features")
    assert [v["name"] for v in meta["variables"]][:2] == ["ID", "radius1"]
    assert pd.read_csv(folder / "data.csv").shape == (N, 1 + 32 + 1)
    assert fetched.x.shape == (N, 35)  # clinic one-hot although it is stored as integers

    def offline(*args, **kwargs):
        raise ConnectionError("Error connecting to server")

    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", offline)
    monkeypatch.setattr(socket, "socket", offline)
    cached = UCIDataSource(id=17, cache_dir=str(cache)).load()
    assert torch.equal(cached.x, fetched.x) and torch.equal(cached.y, fetched.y)
    assert cached.class_names == fetched.class_names == ["B", "M"]


@needs_ucimlrepo
@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644),
                                                           (0o027, 0o750, 0o640)])
def test_the_cache_folder_is_shared_as_the_umask_allows(tmp_path, monkeypatch, umask,
                                                        folder_mode, file_mode):
    """Not ``tempfile.mkdtemp``'s ``0o700``: a colleague reads the cached dataset when the
    umask lets them, as any folder the user makes."""
    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", lambda name=None, id=None: fetch_result(id))
    previous = os.umask(umask)
    try:
        UCIDataSource(id=17, cache_dir=str(tmp_path / "cache")).load()
    finally:
        os.umask(previous)
    folder = tmp_path / "cache" / "17"
    assert oct(stat.S_IMODE(folder.stat().st_mode)) == oct(folder_mode)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()} == {
        "data.csv": oct(file_mode), "metadata.json": oct(file_mode)}


@needs_ucimlrepo
def test_real_ucimlrepo_against_a_local_stand_in_of_the_uci_api(tmp_path, monkeypatch):
    """The installed ucimlrepo's own fetch and parsing, served from localhost: the result it
    builds is cached and read back like the real one would be."""
    import http.server
    import threading

    ids, features, targets = breast_cancer()
    csv = pd.concat([ids, features, targets], axis=1).to_csv(index=False).encode()
    variables = json.loads(variables_table(features).to_json(orient="records"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/api/dataset?id=17"):
                body = json.dumps({"status": 200, "data": {
                    "uci_id": 17, "name": "Breast Cancer Wisconsin (Diagnostic)",
                    "data_url": f"http://127.0.0.1:{port}/static/17.csv", "variables": variables,
                    "additional_info": {"summary": "stand-in"}, "intro_paper": None}}).encode()
            elif self.path == "/static/17.csv":
                body = csv
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr("ucimlrepo.fetch.API_BASE_URL", f"http://127.0.0.1:{port}/api/dataset")
        fetched = UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    finally:
        server.shutdown()
        server.server_close()
    meta = json.loads((tmp_path / "17" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["features"] == FEATURES + ["clinic", "site"] and meta["targets"] == ["Diagnosis"]
    assert meta["uci_metadata"]["additional_info"] == {"summary": "stand-in"}
    assert fetched.x.shape == (N, 35) and fetched.class_names == ["B", "M"]
    assert torch.allclose(fetched.x[:, :30], torch.tensor(load_breast_cancer().data, dtype=torch.float32))


@needs_ucimlrepo
def test_fetch_still_loads_when_the_cache_cannot_be_written(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", lambda name=None, id=None: fetch_result(id))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    samples = UCIDataSource(id=17, cache_dir=str(blocker / "uci")).load()
    assert samples.x.shape == (N, 35)
    assert "cannot write the cache folder" in caplog.text


def assert_offline_message(error: DataLoadError, folder: Path) -> None:
    assert error.message.startswith("UCIDataSource: UCI id 17 is not in the cache folder ")
    assert str(folder) in error.message
    assert "could not be downloaded (ConnectionError: Error connecting to server)" in error.message
    assert error.hint.startswith("Run once with network access to download and cache it, "
                                 "or write the cache files yourself")
    assert "data.csv" in error.hint and "metadata.json" in error.hint


@needs_ucimlrepo
def test_offline_without_cache_fails_fast_with_one_message(tmp_path, monkeypatch):
    """The real ucimlrepo, with name resolution refused as on a machine without network."""
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    start = time.perf_counter()
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert time.perf_counter() - start < 5
    assert_offline_message(e.value, tmp_path / "17")
    assert not (tmp_path / "17").exists()
    assert socket.getdefaulttimeout() is None


@needs_ucimlrepo
def test_offline_error_reaches_the_user_as_a_config_error(tmp_path, monkeypatch):
    from erasure.config import ConfigError

    def offline(*args, **kwargs):
        raise ConnectionError("Error connecting to server")

    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", offline)
    manager = DatasetManager(DataSource=UCIDataSource(id=17, cache_dir=str(tmp_path)))
    with pytest.raises(ConfigError) as e:
        manager.load(0)
    [problem] = e.value.problems
    assert problem.path == "data.parameters.DataSource"
    assert str(tmp_path / "17") in problem.message


@needs_ucimlrepo
def test_unknown_id_names_it(tmp_path, monkeypatch):
    from ucimlrepo.fetch import DatasetNotFoundError

    def missing(name=None, id=None):
        raise DatasetNotFoundError("Dataset not found in repository")

    monkeypatch.setattr(ucimlrepo, "fetch_ucirepo", missing)
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=999999, cache_dir=str(tmp_path)).load()
    assert "UCI id 999999 cannot be fetched" in e.value.message
    assert "Dataset not found in repository" in e.value.message
    assert "archive.ics.uci.edu" in e.value.hint


def test_incomplete_cache_folder_is_reported(tmp_path, no_network):
    folder = write_cache(tmp_path)
    (folder / "metadata.json").unlink()
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert f"the cache folder {folder} of UCI id 17 lacks metadata.json" in e.value.message
    (folder / "metadata.json").write_text(json.dumps({"features": ["radius1"]}))
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert "needs the lists 'targets' of column names" in e.value.message
    assert str(folder) in e.value.hint


def test_missing_ucimlrepo_is_reported_only_when_a_fetch_is_needed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ucimlrepo", None)  # as if not installed
    with pytest.raises(DataLoadError) as e:
        UCIDataSource(id=17, cache_dir=str(tmp_path)).load()
    assert "UCIDataSource needs the 'ucimlrepo' package" in e.value.message
    assert e.value.hint == "Install it with: pip install 'erasure[uci]'"
    write_cache(tmp_path)
    assert UCIDataSource(id=17, cache_dir=str(tmp_path)).load().x.shape[0] == N


@pytest.mark.parametrize("parameters, message", [
    ({"id": 0}, "id must be a positive UCI dataset id"),
    ({"id": 17, "timeout": 0}, "timeout must be positive"),
    ({"id": 17, "feature_columns": []}, "feature_columns is empty"),
])
def test_bad_parameters(parameters, message):
    with pytest.raises(ValueError, match=message):
        UCIDataSource(**parameters)


def test_standardised_with_training_statistics_only(tmp_path, no_network):
    write_cache(tmp_path, categorical=["clinic", "site"])
    source = UCIDataSource(id=17, cache_dir=str(tmp_path))
    raw = source.load().x
    manager = DatasetManager(DataSource=source, standardize="train", partitions=[
        StratifiedSplit(parts_names=["train", "test"], percentage=0.8)])
    data = manager.load(0)
    train, test = data["train"], data["test"]
    assert torch.allclose(data.x[train].mean(0), torch.zeros(35), atol=1e-5)
    assert torch.allclose(data.x[train].std(0), torch.ones(35), atol=1e-4)
    # test is shifted and scaled by train's statistics, not by its own
    mean, std = raw[train].mean(0), raw[train].std(0)
    assert torch.allclose(data.x[test], (raw[test] - mean) / std, atol=1e-4)
    assert data.x[test].mean(0).abs().max() > 0.05


def test_config_runs_end_to_end_on_the_cached_dataset(tmp_path, no_network):
    write_cache(tmp_path / "cache")
    config = load_config(CONFIG)
    assert config["data"]["parameters"]["DataSource"]["parameters"]["id"] == 17
    assert config["data"]["parameters"]["standardize"] == "train"
    config["data"]["parameters"]["DataSource"]["parameters"]["cache_dir"] = str(tmp_path / "cache")
    doc = run_family_config(config, CONFIG, tmp_path / "out")
    for record in doc["records"]:
        for partition in ("forget", "retain", "test"):
            assert 0.85 < record["metrics"][f"accuracy.{partition}.unlearned"], (record["name"], partition)
    gold = doc["records"][0]["metrics"]
    assert gold["accuracy.test.original"] > 0.9
    assert (gold["size.train"], gold["size.test"], gold["size.forget"]) == (456, 113, 46)


def test_config_checks_the_parameters_before_loading():
    from erasure.config import ConfigError

    config = load_config(CONFIG)
    parameters = config["data"]["parameters"]["DataSource"]["parameters"]
    parameters.update(id="17", group_columns="sex")
    with pytest.raises(ConfigError) as e:
        prepare(config, config_file=CONFIG)
    paths = {p.path for p in e.value.problems}
    assert {"data.parameters.DataSource.parameters.id",
            "data.parameters.DataSource.parameters.group_columns"} <= paths, paths
    parameters.update(id=0, group_columns=[])
    with pytest.raises(ConfigError, match="id must be a positive UCI dataset id"):
        prepare(config, config_file=CONFIG)
