"""Reading a training set's image files in order, in worker processes: the same images, rows and gaps either way."""

import itertools

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astro_cnn.engine.file_reading import MIN_FILES_FOR_WORKERS, read_image_files, store_workers
from astro_cnn.engine.train import build_store


@pytest.fixture
def image_files(tmp_path):
    """80 FITS files (a few missing or corrupt) and their names, relative to ``tmp_path``."""
    rng = np.random.default_rng(0)
    names = []
    for k in range(MIN_FILES_FOR_WORKERS + 16):
        name = f"g{k:03d}.fits"
        if k % 29 == 5:
            (tmp_path / name).write_bytes(b"SIMPLE  = not really")  # corrupt
        elif k % 29 != 11:  # k % 29 == 11: missing
            fits.writeto(tmp_path / name, rng.normal(size=(2, 8, 8)).astype(np.float32))
        names.append(name)
    return tmp_path, names


def test_workers_read_the_same_images_in_the_same_order(image_files):
    directory, names = image_files
    alone = list(read_image_files(names, directory, workers=0))
    pooled = list(read_image_files(names, directory, workers=2))
    assert [row for row, _, _ in pooled] == list(range(len(names)))
    assert [path for _, _, path in pooled] == [path for _, _, path in alone]
    gaps = [row for row, image, _ in alone if image is None]
    assert gaps == [5, 11, 34, 40, 63, 69] and [row for row, image, _ in pooled if image is None] == gaps
    for (_, a, _), (_, b, _) in zip(alone, pooled):
        assert (a is None and b is None) or np.array_equal(a, b)


def test_a_store_is_the_same_read_by_workers_or_not(image_files, tmp_path):
    directory, names = image_files
    table = Table({"image": names, "oh_p50": np.linspace(8.2, 9.2, len(names))})
    stores = [build_store(tmp_path / f"store{workers}", table, "metallicity", image_column="image",
                          image_dir=directory, survey="x", bands="ab", pixel_scale=0.4, workers=workers,
                          log=lambda line: None) for workers in (0, 2)]
    assert (stores[0].directory / "images.bin").read_bytes() == (stores[1].directory / "images.bin").read_bytes()
    assert list(stores[0].table["source"]) == list(stores[1].table["source"]) and len(stores[0]) == len(names) - 6


def test_stopping_early_leaves_no_work_behind(image_files):
    directory, names = image_files
    reader = read_image_files(names * 20, directory, workers=2)
    assert [row for row, _, _ in itertools.islice(reader, 3)] == [0, 1, 2]
    reader.close()  # as when the store writer refuses an odd shape: queued files are cancelled, not read
    with pytest.raises(StopIteration):
        next(reader)


def test_store_workers_use_every_cpu(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert store_workers() == 16
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert store_workers() == 0


def _workers_in_a_daemon(queue):
    queue.put(store_workers())


def test_a_daemon_process_reads_its_files_itself():
    """A daemon process (a pool worker, a DataLoader worker) may not start processes: it reads alone."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_workers_in_a_daemon, args=(queue,), daemon=True)
    process.start()
    process.join(60)
    assert queue.get(timeout=10) == 0


def test_colour_files_come_as_8_bit_values_either_way(tmp_path):
    """JPEG cutouts are handed over as uint8 (a quarter of the bytes) and stored exactly as read in this process."""
    from .conftest import DATA

    jpegs = sorted((DATA / "gri_small").glob("*.jpg"))
    names = [str(jpegs[k % len(jpegs)]) for k in range(MIN_FILES_FOR_WORKERS + 8)]
    pooled = list(read_image_files(names, workers=2))
    assert all(image.dtype == np.uint8 and image.shape == (3, 128, 128) for _, image, _ in pooled)
    table = Table({"image": names, "oh_p50": np.full(len(names), 8.9)})
    stores = [build_store(tmp_path / f"store{workers}", table, "metallicity", image_column="image", workers=workers,
                          log=lambda line: None) for workers in (0, 2)]
    assert stores[0].info["dtype"] == "uint8"
    assert (stores[0].directory / "images.bin").read_bytes() == (stores[1].directory / "images.bin").read_bytes()
