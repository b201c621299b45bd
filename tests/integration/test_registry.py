"""Pulling from a real registry (Debian's docker-registry) on 127.0.0.1, with images
pushed by skopeo: by tag and by digest, a multi-platform index, basic auth, and
`hops run --image` pulling what is missing."""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import wait_until
from test_images import busybox_tree, sh


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_registry(root: Path, auth: bool):
    port = free_port()
    config = {
        "version": 0.1,
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "log": {"level": "error"},
    }
    if auth:
        sh("htpasswd", "-Bbc", str(root / "htpasswd"), "hopsuser", "hopspass")
        config["auth"] = {"htpasswd": {"realm": "hops-test", "path": str(root / "htpasswd")}}
    (root / "config.yml").write_text(json.dumps(config))
    process = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False
    assert wait_until(up, timeout=20), "registry did not start"
    return process, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry")
    (work / "open").mkdir()
    (work / "auth").mkdir()
    open_registry, open_address = start_registry(work / "open", auth=False)
    auth_registry, auth_address = start_registry(work / "auth", auth=True)
    # An image: busybox plus a config with a cmd.
    layout = work / "layout"
    sh("umoci", "init", "--layout", str(layout))
    sh("umoci", "new", "--image", f"{layout}:v1")
    sh("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(work / "bundle"))
    busybox_tree(work / "bundle" / "rootfs")
    (work / "bundle" / "rootfs" / "etc" / "release").write_text("pulled\n")
    sh("umoci", "repack", "--image", f"{layout}:v1", str(work / "bundle"))
    sh("umoci", "config", "--image", f"{layout}:v1", "--config.cmd", "/bin/cat", "--config.cmd", "/etc/release")
    try:
        yield {"open": open_address, "auth": auth_address, "layout": layout, "work": work}
    finally:
        for p in (open_registry, auth_registry):
            p.kill()
            p.wait()


def push(registry, target, creds=None, source=None):
    args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
    if creds:
        args += ["--dest-creds", creds]
    sh(*args, source or f"oci:{registry['layout']}:v1", f"docker://{target}")
    digest = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
                            + (["--creds", creds] if creds else []) + [f"docker://{target}"],
                            capture_output=True, text=True).stdout.strip()
    return digest


def test_pull_by_tag_and_run(hops, registry):
    target = f"{registry['open']}/hops/app:v1"
    push(registry, target)
    r = hops("image", "pull", "--insecure-registry", target)
    assert r.returncode == 0, r.stderr
    assert b"layer 1/1" in r.stderr and b"digest: sha256:" in r.stderr
    r = hops("run", "--image", target)
    assert (r.returncode, r.stdout) == (0, b"pulled\n"), r.stderr


def test_pull_by_digest(hops, registry):
    target = f"{registry['open']}/hops/bydigest:v1"
    digest = push(registry, target)
    assert digest.startswith("sha256:")
    ref = f"{registry['open']}/hops/bydigest@{digest}"
    r = hops("image", "pull", "--insecure-registry", ref)
    assert r.returncode == 0, r.stderr
    assert digest.encode() in r.stdout
    assert hops("run", "--image", ref).stdout == b"pulled\n"


def test_run_pulls_a_missing_image_first(hops, registry):
    target = f"{registry['open']}/hops/auto:v1"
    push(registry, target)
    r = hops("run", "--insecure-registry", "--image", target)
    assert r.returncode == 0, r.stderr
    assert b"pulling it" in r.stderr and r.stdout == b"pulled\n"


def test_multi_platform_index_picks_this_platform(hops, registry):
    layout = registry["layout"]
    index = json.loads((layout / "index.json").read_text())
    amd64 = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v1")
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / amd64["digest"][7:]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"][7:]).read_bytes())
    def put(obj):
        data = json.dumps(obj).encode()
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest, len(data)
    config["architecture"] = "arm64"
    config["config"]["Cmd"] = ["/bin/echo", "wrong platform"]
    cdigest, csize = put(config)
    arm = dict(manifest, config=dict(manifest["config"], digest=cdigest, size=csize))
    adigest, asize = put(arm)
    multi = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": adigest, "size": asize,
         "platform": {"architecture": "arm64", "os": "linux"}},
        dict(amd64, platform={"architecture": "amd64", "os": "linux"}, annotations=None),
    ]}
    multi["manifests"][1].pop("annotations")
    idigest, isize = put(multi)
    index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idigest, "size": isize,
                               "annotations": {"org.opencontainers.image.ref.name": "multi"}})
    (layout / "index.json").write_text(json.dumps(index))
    target = f"{registry['open']}/hops/multi:v1"
    sh("skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", f"oci:{layout}:multi", f"docker://{target}")
    r = hops("image", "pull", "--insecure-registry", target)
    assert r.returncode == 0, r.stderr
    assert b"platform linux/amd64" in r.stderr
    assert hops("run", "--image", target).stdout == b"pulled\n"


def test_basic_auth_with_docker_config_credentials(hops, registry):
    target = f"{registry['auth']}/hops/private:v1"
    push(registry, target, creds="hopsuser:hopspass")
    # Without credentials: a clear refusal.
    r = hops("image", "pull", "--insecure-registry", target)
    assert r.returncode == 125 and b"needs a login" in r.stderr
    docker = hops.home / "docker"
    docker.mkdir(exist_ok=True)
    auth = base64.b64encode(b"hopsuser:hopspass").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {registry["auth"]: {"auth": auth}}}))
    try:
        r = hops("image", "pull", "--insecure-registry", target)
        assert r.returncode == 0, r.stderr
    finally:
        (docker / "config.json").unlink()


def test_unknown_tag_is_a_clear_error(hops, registry):
    r = hops("image", "pull", "--insecure-registry", f"{registry['open']}/hops/app:nosuchtag")
    assert r.returncode == 125 and b"404" in r.stderr


def test_an_interrupted_download_is_retried(hops, registry):
    """A proxy in front of the registry cuts every blob's first download in half."""
    import http.server
    import threading
    import urllib.request

    upstream = registry["open"]
    cut = set()

    class Flaky(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            request = urllib.request.Request(f"http://{upstream}{self.path}", headers={
                k: v for k, v in self.headers.items() if k.lower() in ("accept", "authorization")})
            try:
                response = urllib.request.urlopen(request)
                status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                status, headers, body = error.code, error.headers, error.read()
            self.send_response(status)
            for key in ("Content-Type", "Docker-Content-Digest", "WWW-Authenticate"):
                if headers.get(key):
                    self.send_header(key, headers[key])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if "/blobs/" in self.path and self.path not in cut:
                cut.add(self.path)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # An image of its own (a fresh layer), so no blob of it is in the store yet.
    work = registry["work"]
    layout = work / "flaky-layout"
    sh("skopeo", "copy", "--quiet", f"oci:{registry['layout']}:v1", f"oci:{layout}:v1")
    sh("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(work / "flaky-bundle"))
    (work / "flaky-bundle" / "rootfs" / "etc" / "unique").write_bytes(os.urandom(4096))
    sh("umoci", "repack", "--image", f"{layout}:v1", str(work / "flaky-bundle"))
    try:
        push(registry, f"{upstream}/hops/flaky:v1", source=f"oci:{layout}:v1")
        proxy = f"127.0.0.1:{server.server_address[1]}"
        r = hops("image", "pull", "--insecure-registry", f"{proxy}/hops/flaky:v1")
        assert r.returncode == 0, r.stderr
        assert cut, "the proxy should have cut downloads"
        assert hops("run", "--image", f"{proxy}/hops/flaky:v1").stdout == b"pulled\n"
        # Nothing half-downloaded stays behind.
        leftovers = [p.name for p in (hops.home / "images").iterdir() if p.name.startswith(".")]
        assert leftovers == []
    finally:
        server.shutdown()


def test_concurrent_pulls_of_the_same_image_do_not_corrupt_each_other(hops, registry):
    work = registry["work"]
    layout = work / "twin-layout"
    sh("skopeo", "copy", "--quiet", f"oci:{registry['layout']}:v1", f"oci:{layout}:v1")
    sh("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(work / "twin-bundle"))
    (work / "twin-bundle" / "rootfs" / "etc" / "twin").write_bytes(os.urandom(1 << 20))
    sh("umoci", "repack", "--image", f"{layout}:v1", str(work / "twin-bundle"))
    target = f"{registry['open']}/hops/twin:v1"
    push(registry, target, source=f"oci:{layout}:v1")
    pulls = [hops.popen("image", "pull", "--insecure-registry", target) for _ in range(3)]
    for p in pulls:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    r = hops("run", "--image", target)
    assert r.stdout == b"pulled\n"
    layers = hops.home / "images" / "layers"
    assert [p.name for p in layers.iterdir() if p.name.startswith(".")] == []
