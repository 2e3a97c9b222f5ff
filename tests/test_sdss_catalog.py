"""Catalogue queries through astroquery.sdss against the local server (recorded answers), presets, caching."""

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from astro_cnn.cli import main
from astro_cnn.exceptions import NetworkDisabledError
from astro_cnn_sdss.catalog import PRESETS, preset_sql, query_region, query_sql
from astro_cnn_sdss.surveys import SDSSJpegSurvey, SDSSStackSurvey

pytest_plugins = ("tests.sdss_fixtures",)

TOP3 = ("SELECT TOP 3 p.ra, p.dec, p.u, p.g, p.r, p.i, p.z AS z_mag, s.z FROM PhotoObj AS p "
        "JOIN SpecObj AS s ON s.bestObjID = p.objID WHERE s.class = 'GALAXY'")


@pytest.fixture
def skyserver(server):
    from astroquery.sdss import conf as aq_conf

    with aq_conf.set_temp("skyserver_baseurl", server.url):
        yield server


def test_wu2019_preset_has_the_paper_cuts():
    sql = preset_sql("wu2019", top=10)
    assert sql.startswith("SELECT TOP 10 ")
    for cut in ("g.oh_p50", "g.lgm_tot_p50", "s.rChi2 < 2", "p.u BETWEEN 10 AND 25", "p.z BETWEEN 10 AND 25",
                "p.u - p.r BETWEEN 0 AND 6", "s.z > 0.02", "s.zErr < 0.01", "p.petroMag_r < 18", "galSpecExtra"):
        assert cut in sql


def test_pasquet2019_preset_has_the_paper_cuts():
    sql = preset_sql("pasquet2019")
    assert "TOP" not in sql and PRESETS["pasquet2019"][1] == 12
    for cut in ("p.petroMag_r - p.extinction_r <= 17.8", "s.z <= 0.4", "p.clean = 1", "legacy_target1 & 64",
                "p.extinction_r / 2.751 AS ebv", "p.extinction_u"):
        assert cut in sql


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(KeyError, match="'pasquet2019', 'wu2019'"):
        preset_sql("nope")


def test_query_sql_returns_table_with_units_and_caches(skyserver, tmp_path):
    table = query_sql(TOP3, cache_dir=tmp_path)
    assert len(table) == 3 and table.colnames == ["ra", "dec", "u", "g", "r", "i", "z_mag", "z"]
    assert table["ra"].unit == u.deg and table["r"].unit == u.mag and table["z"].unit is None
    assert table["ra"][0] == pytest.approx(183.6802074411)
    assert "/dr17/en/tools/search/x_results.aspx" in skyserver.requests[0]
    again = query_sql(TOP3, cache_dir=tmp_path, offline=True)
    assert len(skyserver.requests) == 1
    assert list(again["r"]) == list(table["r"]) and again["r"].unit == u.mag


def test_preset_runs_against_its_release_and_empty_answer_is_empty_table(skyserver, tmp_path):
    table = query_sql(preset_sql("pasquet2019", top=5), preset="pasquet2019", cache_dir=tmp_path)
    assert len(table) == 0
    assert "/dr12/" in skyserver.requests[0]


def test_query_region(skyserver, tmp_path):
    table = query_region(SkyCoord(229.5256 * u.deg, 42.7459 * u.deg), 30 * u.arcsec, top=5, cache_dir=tmp_path)
    assert len(table) == 0
    assert "fGetNearbyObjEq" in skyserver.requests[0] and "0.500000" in skyserver.requests[0]


def test_offline_query_not_cached_is_an_error(tmp_path):
    with pytest.raises(NetworkDisabledError, match="not cached"):
        query_sql(TOP3, cache_dir=tmp_path, offline=True)


def test_survey_query_uses_its_cache(skyserver, tmp_path):
    survey = SDSSJpegSurvey(cache_dir=tmp_path)
    assert len(survey.query(TOP3)) == 3
    assert len(SDSSStackSurvey(cache_dir=tmp_path, offline=True).query(TOP3)) == 3
    assert len(survey.query(preset="wu2019", top=2)) == 0
    assert "/dr17/" in skyserver.requests[-1] and "TOP+2" in skyserver.requests[-1]
    with pytest.raises(ValueError, match="preset"):
        survey.query()


def test_cli_query(skyserver, tmp_path, capsys):
    out = tmp_path / "q.ecsv"
    assert main(["query", "--sql", TOP3, "-o", str(out), f"--survey-option=cache_dir={tmp_path / 'cache'}"]) == 0
    assert any((tmp_path / "cache" / "query").iterdir())
    assert "wrote 3 rows" in capsys.readouterr().out
    assert Table.read(out)["r"].unit == u.mag
    assert main(["query", "--preset", "nope", "-o", str(tmp_path / "x.ecsv")]) == 2
    assert "known SDSS presets: 'pasquet2019', 'wu2019'" in capsys.readouterr().err
    assert main(["query", "--sql", TOP3, "--top", "3", "-o", str(tmp_path / "y.ecsv")]) == 2


@pytest.mark.remote_data
def test_real_skyserver_answers_the_wu2019_preset(tmp_path):
    table = query_sql(preset_sql("wu2019", top=5), preset="wu2019", cache_dir=tmp_path)
    assert len(table) == 5 and table["oh_p50"].unit == u.dex
