"""The address a phone in the classroom can open: the join link on the projector.

The teacher's browser often opened the page as localhost or 127.0.0.1, which on a phone means the phone. So:
a setting first (VACDEMO_PUBLIC_URL, `python -m vacdemo serve --public-url`), else the address the page was
opened at when a phone could open it too, else the machine's private LAN addresses, read from its network
interfaces (psutil; no packet is sent anywhere). A server listening on loopback only is said to be one.
"""
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

# Interfaces that are not the classroom's network: containers, virtual machines, VPNs and tunnels.
VIRTUAL = ("docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "lxc", "lxd", "podman", "cni", "flannel", "kube",
           "tun", "tap", "wg", "tailscale", "zt", "utun", "ppp", "ipsec")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
# RFC 1918: a classroom's Wi-Fi. (ipaddress's is_private also counts documentation and other reserved ranges.)
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@dataclass(frozen=True)
class Join:
    urls: list[str]  # where phones join (each a base URL ending in /); several when the machine has several
    warning: str | None  # what stops phones from joining, in one line, or None


def is_loopback(host: str) -> bool:
    """This machine's own address: loopback, *.localhost, IPv4-mapped loopback, the short 127.1."""
    ip = _ip(host)
    host = host.strip("[]").lower().rstrip(".")
    return host in LOOPBACK_NAMES or host.endswith(".localhost") or (ip is not None and ip.is_loopback)


def unreachable(host: str) -> bool:
    """An address a phone cannot open: this machine's own, or none at all (0.0.0.0, ::: what a server prints when
    it listens on every interface)."""
    ip = _ip(host)
    return is_loopback(host) or (ip is not None and ip.is_unspecified)


def _ip(host: str):
    """host as an IP address (IPv4-mapped IPv6 as IPv4; the short forms a browser accepts: 127.1), else None."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.inet_aton(host))  # parses the numbers only: no name is looked up
        except OSError:
            return None
    return getattr(ip, "ipv4_mapped", None) or ip


def lan_addresses(interfaces: dict | None = None, stats: dict | None = None) -> list[str]:
    """Private IPv4 addresses of interfaces that are up, not loopback, not a container's, VM's or VPN's.
    interfaces: {name: [addr with .family and .address]} as psutil.net_if_addrs(); stats: {name: with .isup}
    as psutil.net_if_stats() (both read from the machine when None)."""
    if interfaces is None or stats is None:
        import psutil
        interfaces, stats = psutil.net_if_addrs(), psutil.net_if_stats()
    found = []
    for name, addrs in sorted(interfaces.items()):
        if name.lower().startswith(VIRTUAL) or (name in stats and not stats[name].isup):
            continue
        for a in addrs:
            if getattr(a.family, "name", str(a.family)) != "AF_INET":
                continue
            ip = ipaddress.ip_address(a.address)
            if any(ip in net for net in PRIVATE) and str(ip) not in found:
                found.append(str(ip))
    return found


def join(opened: str | None, listening: str | None = None, public: str | None = None,
         interfaces: dict | None = None, stats: dict | None = None) -> Join:
    """Where phones join. opened: the page's URL as the teacher's browser opened it; listening: the host the
    server listens on ("" or None: every interface); public: the setting (else $VACDEMO_PUBLIC_URL)."""
    public = public if public is not None else os.environ.get("VACDEMO_PUBLIC_URL")
    if public:
        return Join([base(public)], None)
    if listening and is_loopback(listening):
        return Join([], "This server listens on this machine only (127.0.0.1): phones cannot reach it. Start it "
                        "with `make serve` (it listens on the network) or set VACDEMO_PUBLIC_URL.")
    parts = urlsplit(opened or "http://localhost:8501/")
    if parts.hostname and not unreachable(parts.hostname):
        return Join([base(opened)], None)
    port = f":{parts.port}" if parts.port else ""
    found = lan_addresses(interfaces, stats)
    if not found:
        return Join([], "No network address found on this machine: phones cannot join. Connect it to the "
                        "classroom's Wi-Fi, or set VACDEMO_PUBLIC_URL to the address students should open.")
    return Join([f"{parts.scheme or 'http'}://{ip}{port}/" for ip in found], None)


def base(url: str) -> str:
    """scheme://host[:port]/path/ without the query: where the app is."""
    p = urlsplit(url if "://" in url else f"http://{url}")
    return f"{p.scheme}://{p.netloc}{p.path.rstrip('/')}/"


# The URL state that may travel in a join link: what the projector shows, never a secret or a session's own.
SHARED = ("class", "data", "view", "source", "norm", "mode", "steps", "auto_alpha", "alpha", "lesson", "attacker",
          "queries")
SHARED_PREFIXES = ("cls_", "sample_", "eps_", "cmp_eps_", "target_")
PICTURE = ("cls_", "sample_")  # the gallery picture: only when the source is the gallery


def with_state(url: str, query: dict) -> str:
    """url with the projected setup as its query: data set, view, picture, attack, ε. A drawing or an upload cannot
    travel in a link: then the data set and settings only (students start from the gallery)."""
    gallery = query.get("source", "gallery") == "gallery"
    keep = {k: v for k, v in query.items()
            if (k in SHARED or k.startswith(SHARED_PREFIXES)) and (gallery or not k.startswith(PICTURE))}
    if not gallery:
        keep.pop("source", None)
    return url + ("?" + urlencode(keep) if keep else "")
