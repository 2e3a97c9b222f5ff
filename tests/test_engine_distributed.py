"""Data-parallel training over 2 CPU processes (gloo, meeting through a file) matches single-process training."""

import astropy.units as u
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from astro_cnn.engine import NetworkPredictor
from astro_cnn.engine.trainer import fit_network

# SGD: Adam's normalised steps would amplify the rounding differences of summing gradients in another order
SETTINGS = {"optimizer": "sgd", "lr": 1e-2, "lr_ratios": (1.0,), "weight_decay": 0.0, "batch_size": 8,
            "head_epochs": 0, "epochs": 2, "schedule": "constant", "augment": True}


def _setup(n=32):
    """A Pasquet-style network (no batch norm, no dropout) on a small photo-z problem."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(n, 5, 16, 16)).astype(np.float32)
    z = rng.uniform(0.01, 0.35, n)
    predictor = NetworkPredictor("photo_z", "sdss-stack", "ugriz", 16, 0.396 * u.arcsec, backbone="pasquet2019",
                                 head_options={"hidden": (32, 32)}, extras=())
    predictor.learn_normalisation(images, z, None)
    data = predictor.training_data(images, z)
    torch.manual_seed(0)
    return predictor.new_network(), data


def _worker(rank, rendezvous, path, n=32):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    network, data = _setup(n)
    fit_network(network, data, SETTINGS, "pdf", seed=1, progress=False, log=lambda line: None)
    if rank == 0:
        torch.save(network.state_dict(), path)
    dist.destroy_process_group()


@pytest.mark.parametrize("n", [32, 35])  # 35: the last batch of 3 splits 2 + 1 between the processes
def test_two_processes_match_one(tmp_path, n):
    torch.set_num_threads(1)
    network, data = _setup(n)
    fit_network(network, data, SETTINGS, "pdf", seed=1, progress=False, log=lambda line: None)
    rendezvous = tmp_path / "rendezvous"  # a file, not a TCP port another process could take meanwhile
    mp.spawn(_worker, args=(rendezvous, tmp_path / "ddp.pt", n), nprocs=2, join=True)
    parallel = torch.load(tmp_path / "ddp.pt", weights_only=True)
    for name, tensor in network.state_dict().items():
        torch.testing.assert_close(parallel[name], tensor, atol=1e-5, rtol=1e-4, msg=name)


RECIPES = ("wu2019", "wu2019-small-data", "pasquet2019", "quick")


def _recipe_worker(rank, rendezvous, out_dir):
    """Every built-in recipe (head-only stages included) under DDP; each rank saves its final weights."""
    from astro_cnn import registry

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(24, 3, 16, 16)).astype(np.float32)
    labels = rng.uniform(8.3, 9.1, 24)
    for recipe in RECIPES:
        settings = {**registry.get("recipe", recipe).settings, "batch_size": 8}
        predictor = NetworkPredictor("metallicity", "sdss-jpeg", "irg", 16, 0.296 * u.arcsec, backbone="small_cnn")
        predictor.device = "cpu"
        predictor.learn_normalisation(images, labels, None)
        data = predictor.training_data(images, labels, val_fraction=settings.get("val_fraction", 0.0))
        torch.manual_seed(0)
        network = predictor.new_network()
        history = fit_network(network, data, settings, "regression", epochs=1, progress=False, log=lambda line: None)
        assert [r["stage"] for r in history][:settings.get("head_epochs", 0)] == ["head"] * settings["head_epochs"]
        torch.save(network.state_dict(), out_dir / f"{recipe}-{rank}.pt")
    dist.destroy_process_group()


def test_every_recipe_trains_under_ddp_with_ranks_in_step(tmp_path):
    rendezvous = tmp_path / "rendezvous"  # a file, not a TCP port another process could take meanwhile
    mp.spawn(_recipe_worker, args=(rendezvous, tmp_path), nprocs=2, join=True)
    for recipe in RECIPES:
        ranks = [torch.load(tmp_path / f"{recipe}-{rank}.pt", weights_only=True) for rank in (0, 1)]
        for name, tensor in ranks[0].items():
            assert torch.equal(tensor, ranks[1][name]), (recipe, name)


def _table_worker(rank, rendezvous, out_dir, run_dir):
    """``astro_cnn.train`` on a table of image files under DDP: one store, built by rank 0, read by both."""
    import json

    import astro_cnn
    from astro_cnn import read_table

    from .conftest import DATA

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    lines = []
    galaxies = read_table(DATA / "gri_small" / "galaxies.ecsv")
    model = astro_cnn.train(galaxies, "metallicity", image_column="image", image_dir=DATA / "gri_small",
                            backbone="small_cnn", recipe="quick", epochs=1, device="cpu", progress=False,
                            run_dir=run_dir, log=lines.append)
    torch.save(model.members_[0], out_dir / f"table-{rank}.pt")
    (out_dir / f"log-{rank}.json").write_text(json.dumps(lines))
    dist.destroy_process_group()


@pytest.mark.parametrize("kept", [False, True])  # the store in a temporary directory, or in RUN_DIR/store
def test_ranks_share_one_store_built_from_a_table(tmp_path, kept):
    import json

    rendezvous = tmp_path / "rendezvous"  # a file, not a TCP port another process could take meanwhile
    run_dir = tmp_path / "run" if kept else None
    mp.spawn(_table_worker, args=(rendezvous, tmp_path, run_dir), nprocs=2, join=True)
    built = [sum(line.startswith("training store ") for line in json.loads((tmp_path / f"log-{rank}.json")
                                                                            .read_text())) for rank in (0, 1)]
    assert built == [1, 0]  # rank 0 wrote it, rank 1 only read it
    ranks = [torch.load(tmp_path / f"table-{rank}.pt", weights_only=True) for rank in (0, 1)]
    for name, tensor in ranks[0].items():
        assert torch.equal(tensor, ranks[1][name]), name
    if kept:
        assert (run_dir / "store" / "store.json").is_file()
