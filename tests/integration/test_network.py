"""Network modes against test hosts in network namespaces this test makes itself.

"The world" is a namespace `hxtest` behind a veth with 203.0.113.2 (a documentation
address), a private address 192.168.213.2 and a link-local 169.254.169.254, each
serving TCP port 8000, plus a DNS server. No traffic goes anywhere else.
"""
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import read_line, wait_until

GUARD = '[ "$(cat /proc/1/comm)" = hops-init ] || { echo NOT-IN-SANDBOX; exit 99; }; '
NS = "hxtest"

SERVER = textwrap.dedent(r'''
    import socket, socketserver, struct, sys, threading

    class Hello(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(("hello from %s to %s\n" % (self.request.getsockname()[0], self.client_address[0])).encode())

    class TCP(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    def dns_answer(query, address):
        # Header: same id, response + recursion available, 1 question, 1 answer.
        qend = 12
        while query[qend] != 0:
            qend += query[qend] + 1
        question = query[12:qend + 5]
        header = query[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
        answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(address)
        return header + question + answer

    def dns(bind, address):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((bind, 53))
        while True:
            data, peer = s.recvfrom(512)
            s.sendto(dns_answer(data, address), peer)

    if sys.argv[1] == "world":
        threading.Thread(target=dns, args=("203.0.113.2", "203.0.113.2"), daemon=True).start()
        TCP(("0.0.0.0", 8000), Hello).serve_forever()
    else:
        dns(sys.argv[2], sys.argv[3])
''')


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    script = tmp_path_factory.mktemp("world") / "server.py"
    script.write_text(SERVER)
    sh("ip", "netns", "add", NS)
    procs = []
    try:
        sh("ip", "link", "add", "hxt-h", "type", "veth", "peer", "name", "hxt-e", "netns", NS)
        sh("ip", "addr", "add", "203.0.113.1/24", "dev", "hxt-h")
        sh("ip", "link", "set", "hxt-h", "up")
        sh("ip", "link", "add", "hxp-h", "type", "veth", "peer", "name", "hxp-e", "netns", NS)
        sh("ip", "addr", "add", "192.168.213.1/24", "dev", "hxp-h")
        sh("ip", "link", "set", "hxp-h", "up")
        sh("ip", "route", "add", "169.254.169.254/32", "via", "203.0.113.2")
        for cmd in (["addr", "add", "203.0.113.2/24", "dev", "hxt-e"], ["link", "set", "hxt-e", "up"],
                    ["addr", "add", "192.168.213.2/24", "dev", "hxp-e"], ["link", "set", "hxp-e", "up"],
                    ["addr", "add", "169.254.169.254/32", "dev", "lo"], ["link", "set", "lo", "up"],
                    ["route", "add", "default", "via", "203.0.113.1"]):
            sh("ip", "-n", NS, *cmd)
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, str(script), "world"]))
        assert wait_until(lambda: sh("ip", "netns", "exec", NS, "ss", "-ltn", check=False).stdout.count(":8000") > 0)
        yield script
    finally:
        for p in procs:
            p.kill()
            p.wait()
        sh("ip", "route", "del", "169.254.169.254/32", check=False)
        sh("ip", "link", "del", "hxt-h", check=False)
        sh("ip", "link", "del", "hxp-h", check=False)
        sh("ip", "netns", "del", NS, check=False)


def run(hops, mode, script, *flags):
    r = hops("run", "--network", mode, *flags, "--", "/bin/sh", "-c", GUARD + script, timeout=60)
    assert b"NOT-IN-SANDBOX" not in r.stdout
    return r


def reach(hops, mode, address, *flags, port=8000):
    """True when a sandbox in `mode` gets the world's hello from address:port."""
    r = run(hops, mode, f"nc -w 2 {address} {port} </dev/null", *flags)
    return b"hello from" in r.stdout


@pytest.fixture
def host_server():
    """A TCP server on the host itself (all addresses), to test reaching the host."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"hello from the host\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join()
    server.close()


def test_outbound_reaches_the_world_through_nat(hops, world):
    r = run(hops, "outbound", "ip -4 -o addr show eth0; nc -w 3 203.0.113.2 8000 </dev/null")
    assert r.returncode == 0, r.stderr
    assert re.search(rb"inet 10\.219\.\d+\.\d+/24", r.stdout)
    # Masqueraded: the world sees the host's address, not the sandbox's.
    assert b"hello from 203.0.113.2 to 203.0.113.1" in r.stdout


def test_reachability_matrix(hops, world, host_server):
    gateway = "10.219.0.1"
    # outbound: the world yes; private, link-local and the host itself no.
    assert reach(hops, "outbound", "203.0.113.2")
    assert not reach(hops, "outbound", "192.168.213.2")
    assert not reach(hops, "outbound", "169.254.169.254")
    assert b"hello from the host" not in run(hops, "outbound", f"nc -w 2 203.0.113.1 {host_server} </dev/null").stdout
    assert b"hello from the host" not in run(hops, "outbound", f"nc -w 2 {gateway} {host_server} </dev/null").stdout
    # An allowed CIDR (and port) is opened explicitly.
    assert reach(hops, "outbound", "192.168.213.2", "--allow-net", "192.168.213.0/24:8000")
    assert not reach(hops, "outbound", "192.168.213.2", "--allow-net", "192.168.213.0/24:9999")
    # A sandbox that takes the address an allowed one had has no rules of its
    # own: nothing of the allowed one's is left for it. (Addresses go back
    # after the exit is told: wait for the rules to go, and retry if the
    # address was not free yet.)
    def address(output):
        return re.search(rb"inet (10\.219\.\d+\.\d+)/", output)[1]
    for _ in range(5):
        time.sleep(0.3)
        allowed = address(run(hops, "outbound", "ip -4 -o addr show eth0", "--allow-net", "192.168.213.0/24:8000").stdout)
        assert wait_until(lambda: "sb-" not in sh("nft", "list", "ruleset").stdout)
        time.sleep(0.3)
        r = run(hops, "outbound", "ip -4 -o addr show eth0; nc -w 2 192.168.213.2 8000 </dev/null")
        if address(r.stdout) == allowed:
            break
    assert address(r.stdout) == allowed, "never got the same address again"
    assert b"hello from" not in r.stdout
    # full: the host and private ranges too.
    assert reach(hops, "full", "192.168.213.2")
    assert reach(hops, "full", "203.0.113.2")
    assert b"hello from the host" in run(hops, "full", f"nc -w 2 203.0.113.1 {host_server} </dev/null").stdout
    # disabled and loopback: nothing outside.
    assert not reach(hops, "disabled", "203.0.113.2")
    assert not reach(hops, "loopback", "203.0.113.2")


def test_dns_through_the_host_resolver(hops, world):
    (hops.home / "test-resolv.conf").write_text("nameserver 203.0.113.2\n")
    try:
        r = run(hops, "outbound", "cat /etc/resolv.conf; nslookup service.example.test")
        out = r.stdout.decode()
        assert "nameserver 203.0.113.2" in out
        assert "Address: 203.0.113.2" in out or "Address 1: 203.0.113.2" in out, out
    finally:
        (hops.home / "test-resolv.conf").unlink()


def test_dns_forwarder_for_a_loopback_resolver(hops, world, tmp_path):
    script = world
    server = subprocess.Popen([sys.executable, str(script), "dns", "127.0.0.53", "203.0.113.77"])
    (hops.home / "test-resolv.conf").write_text("nameserver 127.0.0.53\n")
    try:
        time.sleep(0.3)
        r = run(hops, "outbound", "cat /etc/resolv.conf; nslookup anything.example.test")
        out = r.stdout.decode()
        assert re.search(r"nameserver 10\.219\.\d+\.1", out), out
        assert "203.0.113.77" in out, out
    finally:
        (hops.home / "test-resolv.conf").unlink()
        server.kill()
        server.wait()


def test_no_inbound_without_publishing(hops, world):
    p = hops.popen("run", "--network", "outbound", "--", "/bin/sh", "-c",
                   GUARD + "ip -4 -o addr show eth0; echo inside | nc -l -p 8080")
    try:
        line = read_line(p.stdout).decode()
        address = re.search(r"inet (10\.219\.\d+\.\d+)/", line)[1]
        time.sleep(0.3)
        r = sh("ip", "netns", "exec", NS, sys.executable, "-c",
               f"import socket; s=socket.create_connection(('{address}', 8080), timeout=2); print(s.recv(100))", check=False)
        assert "inside" not in r.stdout
    finally:
        p.kill()
        p.wait()


def test_published_port_is_reachable_from_the_host_and_outside(hops, world):
    for target, via_netns in (("127.0.0.1", False), ("203.0.113.1", True)):
        p = hops.popen("run", "--network", "full", "-p", "18080:8080", "--", "/bin/sh", "-c",
                       GUARD + "echo listening; echo published | nc -l -p 8080")
        try:
            assert read_line(p.stdout) == b"listening\n"
            code = f"import socket; s=socket.create_connection(('{target}', 18080), timeout=3); print(s.recv(100).decode())"
            got = ""
            for _ in range(30):
                cmd = (["ip", "netns", "exec", NS] if via_netns else []) + [sys.executable, "-c", code]
                got = sh(*cmd, check=False).stdout
                if "published" in got:
                    break
                time.sleep(0.2)
            assert "published" in got, (target, got)
        finally:
            p.kill()
            p.wait()
            # The next round publishes the same port: this sandbox must be gone.
            assert wait_until(lambda: hops.sandboxes() == [])


def test_publishing_needs_full_and_a_free_port(hops, world):
    r = hops("run", "--network", "outbound", "-p", "18081:80", "--", "/bin/true")
    assert r.returncode == 125 and b"needs network \"full\"" in r.stderr
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        r = hops("run", "--network", "full", "-p", f"{port}:80", "--", "/bin/true")
        assert r.returncode == 125 and b"already in use" in r.stderr
    finally:
        taken.close()


def test_two_sandboxes_have_distinct_addresses_and_cannot_reach_each_other(hops, world):
    a = hops.popen("run", "--network", "outbound", "--", "/bin/sh", "-c",
                   GUARD + "ip -4 -o addr show eth0; echo from-a | nc -l -p 9000")
    try:
        address_a = re.search(r"inet (10\.219\.\d+\.\d+)/", read_line(a.stdout).decode())[1]
        r = run(hops, "full", f"ip -4 -o addr show eth0; nc -w 2 {address_a} 9000 </dev/null; echo end")
        out = r.stdout.decode()
        address_b = re.search(r"inet (10\.219\.\d+\.\d+)/", out)[1]
        assert address_a != address_b
        assert "from-a" not in out
    finally:
        a.kill()
        a.wait()


def test_ipv6_does_not_leak(hops, world):
    r = run(hops, "outbound", "cat /proc/net/if_inet6 | wc -l; ip -6 route | wc -l")
    assert r.stdout.split() == [b"0", b"0"]
    # The loopback mode has no interface to leak through: its lo keeps ::1.
    r = run(hops, "loopback", "cat /proc/net/if_inet6")
    assert r.stdout.split()[0:1] == [b"00000000000000000000000000000001"], r.stdout


def test_rules_and_links_go_with_the_sandbox_and_the_daemon(hops, world):
    run(hops, "full", "true", "-p", "18082:80")
    assert wait_until(lambda: not re.search(r"hops\d+-", sh("ip", "-o", "link").stdout))
    assert wait_until(lambda: "sb-" not in sh("nft", "list", "ruleset").stdout)
    assert "18082" not in sh("nft", "list", "ruleset").stdout
    # A daemon killed mid-run: the next one removes its bridge and rules.
    p = hops.popen("run", "--network", "outbound", "--", "/bin/sh", "-c", "echo ready; exec sleep 60")
    assert read_line(p.stdout) == b"ready\n"
    os.kill(hops.daemon_pid(), 9)
    p.wait(timeout=30)
    hops("system", "start", check=True)
    assert wait_until(lambda: "hops" not in sh("nft", "list", "tables").stdout)
    assert wait_until(lambda: "hops" not in sh("ip", "-o", "link").stdout)
    # And a stopped daemon leaves nothing either.
    run(hops, "outbound", "true")
    assert re.search(r": hops\d+:", sh("ip", "-o", "link").stdout)
    hops("system", "stop", check=True)
    assert "hops" not in sh("ip", "-o", "link").stdout
    assert "hops" not in sh("nft", "list", "tables").stdout


def test_a_published_port_belongs_to_one_sandbox(hops, world):
    first = hops.popen("run", "--network", "full", "-p", "18090:80", "--", "/bin/sh", "-c", GUARD + "echo up; exec sleep 30")
    try:
        assert read_line(first.stdout) == b"up\n"
        r = hops("run", "--network", "full", "-p", "18090:81", "--", "/bin/true")
        assert r.returncode == 125 and b"18090/tcp is already published" in r.stderr
        # The refused run took nothing away from the first one.
        assert "18090" in sh("nft", "list", "ruleset").stdout
    finally:
        first.kill()
        first.wait()
    assert wait_until(lambda: "18090" not in sh("nft", "list", "ruleset").stdout)


def test_dns_to_a_resolver_on_a_host_address(hops, world):
    """A resolver listening on one of the host's own (non-loopback) addresses."""
    script = world
    server = subprocess.Popen([sys.executable, str(script), "dns", "203.0.113.1", "203.0.113.99"])
    (hops.home / "test-resolv.conf").write_text("nameserver 203.0.113.1\n")
    try:
        time.sleep(0.3)
        r = run(hops, "outbound", "nslookup host-resolver.example.test")
        assert "203.0.113.99" in r.stdout.decode(), r.stdout
    finally:
        (hops.home / "test-resolv.conf").unlink()
        server.kill()
        server.wait()
