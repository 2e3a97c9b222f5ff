"""Catalogue queries against the local server (recorded SkyServer answers): presets, caching, retries, base URL."""

from urllib.parse import unquote_plus

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from astro_cnn.cli import main
from astro_cnn.downloads import Cache, FetchError
from astro_cnn.exceptions import NetworkDisabledError
from astro_cnn_sdss import conf
from astro_cnn_sdss.catalog import PRESETS, preset_sql, query_region, query_sql, release_url
from astro_cnn_sdss.http import client
from astro_cnn_sdss.surveys import SDSSJpegSurvey, SDSSStackSurvey
from astro_cnn_sdss.testing import SDSSTestServer

pytest_plugins = ("tests.sdss_fixtures",)

TOP3 = ("SELECT TOP 3 p.ra, p.dec, p.u, p.g, p.r, p.i, p.z AS z_mag, s.z FROM PhotoObj AS p "
        "JOIN SpecObj AS s ON s.bestObjID = p.objID WHERE s.class = 'GALAXY'")


SQL = "/SkyServerWS/SearchTools/SqlSearch"


@pytest.fixture
def skyserver(server):
    """The local server as the configured SkyServer."""
    with conf.set_temp("skyserver_url", server.skyserver_url):
        yield server


def test_wu2019_preset_is_the_authors_query():
    """jwuphysics/galaxy-cnns, SDSS_sql_query.sql: the Galaxy view, MPA-JHU tables, DR14, the authors' cuts."""
    sql = preset_sql("wu2019", top=10)
    assert sql.startswith("SELECT TOP 10 ") and PRESETS["wu2019"][1] == 14
    for clause in ("FROM SpecObj AS S JOIN Galaxy AS G ON G.objID = S.bestObjID",
                   "JOIN GalSpecLine AS GSL ON GSL.specObjID = S.specObjID",
                   "JOIN GalSpecInfo AS GSI ON GSI.specObjID = S.specObjID",
                   "JOIN GalSpecIndx AS GSX ON GSX.specObjID = S.specObjID",
                   "JOIN GalSpecExtra AS GSE ON GSE.specObjID = S.specObjID",
                   "(G.petroMag_r > 10 AND G.petroMag_r < 18)", "(S.zErr > 0 AND S.zErr < 0.01)",
                   "GSE.oh_p50 != -9999", "S.rChi2 < 2", "S.z > 0.02",
                   "(G.modelMag_u - G.modelMag_r) > 0 AND (G.modelMag_u - G.modelMag_r) < 6",
                   "(G.modelMag_u > 10 AND G.modelMag_u < 25)", "(G.modelMag_z > 10 AND G.modelMag_z < 25)",
                   "GSE.oh_p16, GSE.oh_p50, GSE.oh_p84", "GSE.lgm_tot_p50, GSE.sfr_tot_p50", "GSE.bptclass",
                   "G.run, G.rerun, G.camcol, G.field"):
        assert clause in sql
    assert "PhotoObj" not in sql and "INTO" not in sql and "TOP" not in preset_sql("wu2019")


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
    assert skyserver.requests[0].startswith(f"/dr17{SQL}?cmd=SELECT+TOP+3+") and "format=csv" in skyserver.requests[0]
    again = query_sql(TOP3, cache_dir=tmp_path, offline=True)
    assert len(skyserver.requests) == 1
    assert list(again["r"]) == list(table["r"]) and again["r"].unit == u.mag


def test_preset_runs_against_its_release_and_empty_answer_is_empty_table(skyserver, tmp_path):
    table = query_sql(preset_sql("pasquet2019", top=5), preset="pasquet2019", cache_dir=tmp_path)
    assert len(table) == 0
    assert skyserver.requests[0].startswith(f"/dr12{SQL}?")


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
    assert "/dr14/" in skyserver.requests[-1] and "TOP+2" in skyserver.requests[-1]
    with pytest.raises(ValueError, match="preset"):
        survey.query()


def test_cli_query(skyserver, tmp_path, capsys):
    out = tmp_path / "q.ecsv"
    assert main(["query", "--sql", TOP3, "-o", str(out), f"--survey-option=cache_dir={tmp_path / 'cache'}"]) == 0
    assert any((tmp_path / "cache" / "query").iterdir())
    assert "wrote 3 rows" in capsys.readouterr().out
    assert Table.read(out)["r"].unit == u.mag
    assert main(["query", "--preset", "nope", "-o", str(tmp_path / "x.ecsv")]) == 2
    assert "unknown SDSS preset 'nope'; the known ones: 'pasquet2019', 'wu2019'" in capsys.readouterr().err
    assert main(["query", "--sql", TOP3, "--top", "3", "-o", str(tmp_path / "y.ecsv")]) == 2


def test_cli_query_wu2019_preset(tmp_path, capsys):
    """``astro-cnn query --preset wu2019`` through the local server, answered with one made-up row (not SDSS
    data: the values only check that the answer comes back as a table with units)."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "wu2019.csv").write_text(
        "-- GSE.oh_p50 != -9999\n#Table1\n"
        "objID,specObjID,ra,dec,run,rerun,camcol,field,z,zErr,velDisp,modelMag_r,modelMagErr_r,petroMag_r,"
        "petroR50_r,oh_p16,oh_p50,lgm_tot_p50\n"
        "1,2,150.0,2.0,752,301,3,323,0.05,1e-5,80.0,16.5,0.01,16.7,2.5,8.8,8.9,10.1\n")
    out = tmp_path / "wu2019.ecsv"
    with SDSSTestServer(tmp_path) as local, conf.set_temp("skyserver_url", local.skyserver_url):
        code = main(["query", "--preset", "wu2019", "--top", "2", "-o", str(out),
                     f"--survey-option=cache_dir={tmp_path / 'cache'}"])
    assert code == 0 and "wrote 1 rows" in capsys.readouterr().out
    request = unquote_plus(local.requests[0])
    assert "/dr14/" in request and "SELECT TOP 2 G.objID" in request and "JOIN Galaxy AS G" in request
    table = Table.read(out)
    assert table["oh_p50"].unit == u.dex and table["oh_p16"].unit == u.dex and table["modelMag_r"].unit == u.mag
    assert table["lgm_tot_p50"].unit == u.dex(u.Msun)  # as stellar-mass predictions: pred - cat converts
    assert table["modelMagErr_r"].unit == u.mag and table["petroR50_r"].unit == u.arcsec
    assert table["velDisp"].unit == u.km / u.s and table["z"].unit is None


def test_query_retries_a_503_at_the_given_base_url(server, tmp_path):
    """Not the configured SkyServer (nothing listens there): the base URL given, retried through the pooled client."""
    server.fail(f"/dr17{SQL}", "503")
    fetcher = client(Cache(tmp_path), backoff=0.01, retries=2)
    with conf.set_temp("skyserver_url", "http://127.0.0.1:9/dr17"):
        table = query_sql(TOP3, base_url=server.skyserver_url, client=fetcher)
    assert len(table) == 3 and table["r"].unit == u.mag
    assert len(server.requests) == 2 and all(r.startswith(f"/dr17{SQL}?") for r in server.requests)
    assert query_sql(TOP3, base_url=server.skyserver_url, client=fetcher, data_release=14, refresh=True)
    assert server.requests[-1].startswith(f"/dr14{SQL}?")


def test_query_gives_up_after_the_last_retry(server, tmp_path):
    server.fail(f"/dr17{SQL}", "503", "503")
    with pytest.raises(FetchError, match=r"SqlSearch.*HTTP 503 Service Unavailable after 2 attempts"):
        query_sql(TOP3, base_url=server.skyserver_url, client=client(Cache(tmp_path), backoff=0.01, retries=1))
    assert not list(tmp_path.rglob("*.ecsv"))


def test_query_answered_with_an_error_page_is_not_retried(server, tmp_path):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "error.csv").write_text("-- FROM Nowhere\nError: Invalid object name 'Nowhere'.\n")
    with SDSSTestServer(tmp_path) as local, pytest.raises(FetchError, match="not answer the query with a table"):
        query_sql("SELECT * FROM Nowhere", base_url=local.skyserver_url, cache_dir=tmp_path / "cache")
    assert len(local.requests) == 1


def test_release_url():
    assert release_url("https://skyserver.sdss.org/dr17/", 12) == "https://skyserver.sdss.org/dr12"
    assert release_url("http://mirror.example/sky", None) == "http://mirror.example/sky"
    with pytest.raises(ValueError, match="does not end in /dr<N>"):
        release_url("http://mirror.example/sky", 14)


def test_query_with_a_client_takes_no_cache_dir(tmp_path):
    with pytest.raises(TypeError, match="not both"):
        query_sql(TOP3, client=client(Cache(tmp_path)), cache_dir=tmp_path)


@pytest.mark.remote_data
def test_real_skyserver_answers_the_wu2019_preset(tmp_path):
    table = query_sql(preset_sql("wu2019", top=5), preset="wu2019", cache_dir=tmp_path)
    assert len(table) == 5 and table["oh_p50"].unit == u.dex


def test_a_survey_queries_its_own_base_url_with_its_retries(server, tmp_path):
    """The survey's base_url and retry settings, not the configured SkyServer (nothing listens there)."""
    server.fail(f"/dr17{SQL}", "503")
    survey = SDSSJpegSurvey(base_url=server.skyserver_url, retries=1, backoff=0.01, cache_dir=tmp_path)
    with conf.set_temp("skyserver_url", "http://127.0.0.1:9/dr17"):
        assert len(survey.query(TOP3)) == 3
    assert len(server.requests) == 2 and all(r.startswith(f"/dr17{SQL}?") for r in server.requests)
