"""The projector's join link: an address a phone on the classroom's network can open, chosen from injected
interface lists (no packet is sent anywhere)."""
import socket
from types import SimpleNamespace as NS
from urllib.parse import parse_qs, urlsplit

from vacdemo.serving.address import is_loopback, join, lan_addresses, with_state


def addr(ip: str, family=socket.AF_INET):
    return NS(family=family, address=ip)


UP, DOWN = NS(isup=True), NS(isup=False)
CLASSROOM = {"lo": [addr("127.0.0.1"), addr("::1", socket.AF_INET6)],
             "wlan0": [addr("192.168.1.23"), addr("fe80::1", socket.AF_INET6)],
             "docker0": [addr("172.17.0.1")], "br-3f2a": [addr("172.18.0.1")], "veth12": [addr("172.17.0.5")],
             "tailscale0": [addr("100.101.1.2")], "wg0": [addr("10.8.0.2")], "tun0": [addr("10.9.0.3")],
             "eth1": [addr("10.0.0.7")], "eth2": [addr("10.0.0.9")], "usb0": [addr("169.254.3.4")],
             "eth3": [addr("203.0.113.5")]}
STATS = {name: UP for name in CLASSROOM} | {"eth2": DOWN}


def test_private_ipv4_on_up_interfaces_only_no_bridges_vpns_or_loopback():
    assert lan_addresses(CLASSROOM, STATS) == ["10.0.0.7", "192.168.1.23"]


def test_a_loopback_opened_page_joins_on_the_lan_addresses_with_its_port(monkeypatch):
    monkeypatch.delenv("VACDEMO_PUBLIC_URL", raising=False)
    for opened in ("http://localhost:8501/?present=1", "http://127.0.0.1:8501/", "http://[::1]:8501/",
                   "http://0.0.0.0:8501/", "http://127.1:8501/", "http://[::ffff:127.0.0.1]:8501/",
                   "http://vac.localhost:8501/"):
        j = join(opened, None, interfaces=CLASSROOM, stats=STATS)
        assert j.urls == ["http://10.0.0.7:8501/", "http://192.168.1.23:8501/"] and j.warning is None
        assert not any(is_loopback(urlsplit(u).hostname) for u in j.urls)


def test_no_lan_address_is_a_plain_warning(monkeypatch):
    monkeypatch.delenv("VACDEMO_PUBLIC_URL", raising=False)
    j = join("http://localhost:8501/", None, interfaces={"lo": [addr("127.0.0.1")]}, stats={"lo": UP})
    assert j.urls == [] and "No network address" in j.warning


def test_the_setting_comes_first_and_a_lan_opened_page_keeps_its_address(monkeypatch):
    assert join("http://localhost:8501/", None, public="http://lab.school.example/vac").urls == \
        ["http://lab.school.example/vac/"]
    monkeypatch.setenv("VACDEMO_PUBLIC_URL", "http://10.1.2.3:8500")
    assert join("http://localhost:8501/", None, interfaces=CLASSROOM, stats=STATS).urls == ["http://10.1.2.3:8500/"]
    monkeypatch.delenv("VACDEMO_PUBLIC_URL")
    assert join("http://192.168.1.23:8500/?present=1", None).urls == ["http://192.168.1.23:8500/"]


def test_a_server_on_loopback_says_so(monkeypatch):
    monkeypatch.delenv("VACDEMO_PUBLIC_URL", raising=False)
    j = join("http://127.0.0.1:8500/", "127.0.0.1", interfaces=CLASSROOM, stats=STATS)
    assert j.urls == [] and "listens on this machine only" in j.warning


def test_the_link_carries_what_is_projected_never_the_projector_or_a_secret():
    q = {"data": "fmnist", "view": "lab", "source": "gallery", "cls_fmnist": "3", "sample_fmnist": "2", "norm": "2",
         "mode": "targeted", "target_fmnist": "5", "steps": "20", "eps_fmnist_2": "0.5", "present": "1",
         "teacher": "s3cret"}
    got = parse_qs(urlsplit(with_state("http://10.0.0.7:8501/", q)).query)
    assert {k: v[0] for k, v in got.items()} == {k: v for k, v in q.items() if k not in ("present", "teacher")}
    drawn = parse_qs(urlsplit(with_state("http://10.0.0.7:8501/", {**q, "source": "draw"})).query)
    assert "cls_fmnist" not in drawn and "sample_fmnist" not in drawn and "source" not in drawn
    assert drawn["data"] == ["fmnist"] and drawn["eps_fmnist_2"] == ["0.5"]
    assert with_state("http://10.0.0.7:8501/", {}) == "http://10.0.0.7:8501/"


def test_a_server_on_every_interface_is_not_one_on_loopback(monkeypatch):
    monkeypatch.delenv("VACDEMO_PUBLIC_URL", raising=False)
    j = join("http://0.0.0.0:8500/", "0.0.0.0", interfaces=CLASSROOM, stats=STATS)  # what make serve prints
    assert j.urls == ["http://10.0.0.7:8500/", "http://192.168.1.23:8500/"] and j.warning is None
