"""Proof of play per bulletin against a simulated province whose devices report through the device API."""

from datetime import UTC, datetime, timedelta

from services import coverage
from services.rollups import Thresholds
from services.runtime import session
from storage.repositories import reports as repo
from tests.devices.factory import published_package

TH = Thresholds(online_s=300, offline_s=3600)


def _published(pid: int) -> datetime:
    with session() as s:
        return repo.published_times(s, [pid])[pid]


def test_coverage_of_a_district_bulletin_counts_plays_and_explains_the_silent_devices(province) -> None:
    pid, manifest = published_package(title="Lịch tiêm chủng mở rộng", areas=("070",), languages="vi")
    t0 = _published(pid)
    province.play("a1", manifest, t0 + timedelta(seconds=30))
    province.play("a1", manifest, t0 + timedelta(seconds=400), completed=False)  # within the 10 min clock drift
    province.play("a2", manifest, t0 + timedelta(seconds=120))
    province.play("b1", manifest, t0 + timedelta(seconds=300), completed=False)
    # d1 (district 071) was never sent it: the device API refuses its play log, so it cannot be counted.
    # b2 never reports; c1 polls without the audio; c2 has 10 bytes free.
    assert province.inventory("c1", files=[]).status_code == 204
    assert province.inventory("c2", files=[], free_bytes=10).status_code == 204

    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH)

    assert len(cov.devices) == 6
    assert cov.devices_played == 3
    assert [(c.area_code, c.devices, c.devices_played, c.plays) for c in cov.communes] == [
        ("02200", 2, 2, 3), ("02203", 2, 1, 1), ("02206", 2, 0, 0)]
    assert cov.communes_played == 2
    by_id = {d.device_id: d for d in cov.devices}
    a1 = by_id[province.id("a1")]
    assert (a1.plays, a1.completed, a1.interrupted) == (2, 1, 1)
    assert a1.first_play == t0 + timedelta(seconds=30)
    b1 = by_id[province.id("b1")]
    assert (b1.plays, b1.completed, b1.interrupted) == (1, 0, 1)
    assert by_id[province.id("b2")].why_not == "offline"
    assert by_id[province.id("c1")].why_not == "not_downloaded"
    assert by_id[province.id("c2")].why_not == "storage"
    assert cov.reasons == {"offline": 1, "not_downloaded": 1, "storage": 1}
    assert province.id("d1") not in by_id
    assert cov.time_to_air_s == ()  # not an emergency


def test_coverage_within_one_commune(province) -> None:
    pid, manifest = published_package(title="Thông báo họp thôn", areas=("070",), languages="vi")
    province.play("b1", manifest, _published(pid) + timedelta(seconds=5))
    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH, within="02203")
    assert sorted(d.device_id for d in cov.devices) == sorted([province.id("b1"), province.id("b2")])
    assert cov.devices_played == 1


def test_a_bulletin_whose_whole_window_fell_in_quiet_hours_is_explained(province) -> None:
    """Commune 02206 keeps quiet hours around now (Vietnam wall clock) and the bulletin expires in 30 minutes:
    its devices that polled and did not play are silent because of the quiet hours; b1 (no quiet hours there)
    polled and did not play for no known reason; b2 was never heard from. An emergency ignores quiet hours."""
    from services import programs

    now = datetime.now(UTC)
    vn = now + timedelta(hours=7)
    quiet = [{"from": (vn - timedelta(hours=1)).strftime("%H:%M"), "to": (vn + timedelta(hours=2)).strftime("%H:%M")}]
    with session() as s:
        programs.set_area_profile(s, area_code="02206", quiet_hours=quiet, actor="admin")
    pid, manifest = published_package(title="Thông báo đêm", areas=("070",), languages="vi",
                                      expires_at=now + timedelta(minutes=30))
    em, _ = published_package(title="Cảnh báo cháy rừng", areas=("070",), languages="vi", priority="khan_cap",
                              expires_at=now + timedelta(minutes=30))
    for name in ("b1", "c1", "c2"):
        assert province.devices[name].request("GET", "/device/v1/schedule").status_code == 200
    province.play("a1", manifest, _published(pid) + timedelta(seconds=5))
    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH)
        urgent = coverage.package_coverage(s, em, now=datetime.now(UTC), thresholds=TH)
    why = {d.device_id: d.why_not for d in cov.devices}
    assert why == {province.id("a1"): None, province.id("a2"): "offline", province.id("b1"): "unknown",
                   province.id("b2"): "offline", province.id("c1"): "quiet_hours", province.id("c2"): "quiet_hours"}
    assert cov.reasons == {"offline": 2, "unknown": 1, "quiet_hours": 2}
    assert {d.device_id: d.why_not for d in urgent.devices}[province.id("c1")] == "unknown"


def test_emergency_time_to_air_and_to_acknowledge(province) -> None:
    pid, manifest = published_package(title="Cảnh báo lũ quét", areas=("08",), languages="vi", priority="khan_cap")
    t0 = _published(pid)
    province.play("a1", manifest, t0 + timedelta(seconds=45), trigger="emergency")
    province.play("b1", manifest, t0 + timedelta(seconds=90), trigger="emergency")
    province.play("d1", manifest, t0 + timedelta(seconds=30), trigger="emergency")
    ack = province.devices["a1"].request("POST", "/device/v1/ack", {
        "manifest_hash": manifest, "item_id": f"{manifest[:16]}.vi", "received_at": t0.isoformat(),
        "channel": "mqtt"})
    assert ack.status_code == 204
    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH)
    assert len(cov.devices) == 7
    assert sorted(cov.time_to_air_s) == [30.0, 45.0, 90.0]
    assert cov.latency(cov.time_to_air_s) == {"p50": 45.0, "p90": 81.0, "max": 90.0}
    assert len(cov.time_to_ack_s) == 1 and 0 <= cov.time_to_ack_s[0] < 120


def test_coverage_per_language(province) -> None:
    pid, manifest = published_package(title="Thông báo song ngữ", areas=("070",), languages="vi,km")
    t0 = _published(pid)
    province.play("a1", manifest, t0 + timedelta(seconds=10))
    province.play("a2", manifest, t0 + timedelta(seconds=20), lang="km")
    province.play("a2", manifest, t0 + timedelta(seconds=320), lang="km")
    province.play("b1", manifest, t0 + timedelta(seconds=30), lang="km")
    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH)
    assert [(g.language, g.devices_played, g.communes_played, g.plays) for g in cov.languages] == [
        ("vi", 1, 1, 1), ("km", 2, 2, 3)]
    nobody = published_package(title="Chưa ai phát", areas=("070",), languages="vi,km")[0]
    with session() as s:
        silent = coverage.package_coverage(s, nobody, now=datetime.now(UTC), thresholds=TH)
    assert [(g.language, g.devices_played, g.plays) for g in silent.languages] == [("vi", 0, 0), ("km", 0, 0)]


def test_map_tiles_cover_every_commune_reached(province, client) -> None:
    from tests.reports.test_reports import _communes_of
    from tests.reports.test_web_dashboard import login

    pid, manifest = published_package(title="Thông báo mất điện", areas=("070",), languages="vi")
    t0 = _published(pid)
    province.play("a1", manifest, t0 + timedelta(seconds=10))
    province.play("b1", manifest, t0 + timedelta(seconds=10))
    with session() as s:
        cov = coverage.package_coverage(s, pid, now=datetime.now(UTC), thresholds=TH)
        tiles = coverage.map_tiles(s, cov)
        commune_tiles = coverage.map_tiles(s, cov, within="02203")
    assert [name for name, _ in tiles] == ["Thành phố Tuyên Quang"]  # one district: one row group
    values = dict(tiles[0][1])
    assert len(values) == _communes_of({"070"})  # every commune of the district, devices or not
    assert (values["Phường Phan Thiết"], values["Phường Minh Xuân"], values["Phường Tân Quang"]) == (50.0, 50.0, 0.0)
    assert sum(1 for v in values.values() if v is None) == len(values) - 3
    assert commune_tiles == [("Thành phố Tuyên Quang", [("Phường Minh Xuân", 50.0)])]
    login(client)
    png = client.get(f"/dashboard/package/{pid}/map.png?area=070")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert f"/dashboard/package/{pid}/map.png" in client.get(f"/dashboard/package/{pid}").text
    assert client.get("/dashboard/package/999999/map.png").status_code == 404
