"""python3-libtorrent as a reference tool and a real peer for the make-torrent tests.

  check                    reads {"torrents": [PATH...], "specs": [SPEC...]} on stdin and
                           prints {"torrents": [HASH...], "specs": [HASH...]}: the v1 info
                           hash libtorrent reads from each .torrent file, and the one it
                           computes itself when it creates a v1-only torrent for each SPEC
                           ({"parent", "name", "piece_length", "size" or "files"})
  check2                   reads {"torrents": [PATH...], "trees": [TREE...]} on stdin and
                           prints {"torrents": [[V1, V2]...], "trees": [[V1, V2]...]}:
                           the v1 and v2 info hashes libtorrent reads from each .torrent
                           file, and those of the torrent it creates itself from each
                           TREE ({"parent", "path", "piece_length", "v2_only"}), a file
                           or directory added with its own walk (BEP 52 orders files)
  seed TORRENT SAVE_PATH   check the data, seed it, and run a one-peer HTTP tracker;
                           prints "READY <peer port> <tracker port>", runs until stdin closes
  download TORRENT SAVE_PATH PEER TIMEOUT [plaintext]
                           download from PEER (a port on 127.0.0.1, or ADDRESS:PORT);
                           prints "DONE <CPU seconds>"
                           (this process's user + system time) when complete. With
                           `plaintext` the first connection is not encrypted: by default
                           libtorrent opens with MSE and, against a seed that closes it,
                           reconnects in plain text a second later
  leech SOURCE SAVE_PATH TIMEOUT COUNT
                           COUNT sessions at once download SOURCE (a .torrent file or a
                           magnet link) into SAVE_PATH/0, SAVE_PATH/1, ..., finding peers
                           through the tracker only; prints "DONE" when all are complete

Every session listens on 127.0.0.1 (or LT_LISTEN, an address inside a test's network
namespace) with an ephemeral port, with DHT, local peer discovery, UPnP and NAT-PMP off,
so nothing leaves the machine. LT_ENCRYPTION and LT_UTP choose
encryption and transport (see `encryption()` and `transport()`).
"""

import http.server
import json
import os
import resource
import socket
import struct
import sys
import threading
import time

import libtorrent as lt


def session(**extra):
    return lt.session({
        **extra,
        **encryption(),
        **transport(),
        "listen_interfaces": os.environ.get("LT_LISTEN", "127.0.0.1") + ":0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification,
    })


def encryption():
    """LT_ENCRYPTION=rc4: RC4-encrypted connections only, in and out (MSE/PE forced);
    =any: the MSE/PE handshake forced, offering RC4 and plain text for the stream,
    preferring plain text; unset: libtorrent's defaults."""
    mode = os.environ.get("LT_ENCRYPTION")
    if mode not in ("rc4", "any"):
        return {}
    return {
        "out_enc_policy": int(lt.enc_policy.forced),
        "in_enc_policy": int(lt.enc_policy.forced),
        "allowed_enc_level": int(lt.enc_level.rc4 if mode == "rc4" else lt.enc_level.both),
        "prefer_rc4": mode == "rc4",
    }


def transport():
    """LT_UTP=only: uTP (BEP 29) only, no TCP out; =default: libtorrent's defaults (uTP
    tried first, then TCP); unset: TCP only."""
    mode = os.environ.get("LT_UTP")
    if mode == "default":
        return {}
    if mode == "only":
        return {"enable_outgoing_tcp": False, "enable_incoming_tcp": False}
    return {"enable_incoming_utp": False, "enable_outgoing_utp": False}


def check():
    request = json.load(sys.stdin)
    print(json.dumps({
        "torrents": [str(lt.torrent_info(path).info_hashes().v1) for path in request["torrents"]],
        "specs": [create_hash(spec) for spec in request["specs"]],
    }))


def check2():
    request = json.load(sys.stdin)
    def hashes(ih):
        return [str(ih.v1), str(ih.v2)]
    print(json.dumps({
        "torrents": [hashes(lt.torrent_info(path).info_hashes()) for path in request["torrents"]],
        "trees": [hashes(create_v2(tree)) for tree in request["trees"]],
    }))


def create_v2(tree):
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(tree["parent"], tree["path"]))
    flags = lt.create_torrent.v2_only if tree["v2_only"] else 0
    ct = lt.create_torrent(fs, tree["piece_length"], flags=flags)
    lt.set_piece_hashes(ct, tree["parent"])
    return lt.torrent_info(lt.bencode(ct.generate())).info_hashes()


def create_hash(spec):
    """Files are added in the order given: libtorrent's own directory walk uses readdir
    order and adds `attr` keys, so it would not be a like-for-like comparison."""
    fs = lt.file_storage()
    if spec["files"] is None:
        fs.add_file(spec["name"], spec["size"])
    else:
        for rel, size in spec["files"]:
            fs.add_file(spec["name"] + "/" + rel, size)
    ct = lt.create_torrent(fs, spec["piece_length"], flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, spec["parent"])
    return str(lt.torrent_info(lt.bencode(ct.generate())).info_hashes().v1)


def create_padded_v1():
    """A v1 torrent as libtorrent 2.0 writes it with canonical files: BEP 47 pad files
    after every file that does not end on a piece boundary. Request: parent, path,
    piece_length, output."""
    request = json.load(sys.stdin)
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(request["parent"], request["path"]))
    flags = lt.create_torrent.v1_only | lt.create_torrent.canonical_files
    ct = lt.create_torrent(fs, request["piece_length"], flags=flags)
    lt.set_piece_hashes(ct, request["parent"])
    with open(request["output"], "wb") as f:
        f.write(lt.bencode(ct.generate()))
    print(json.dumps({"files": fs.num_files()}))


def add(ses, torrent, save_path):
    return ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_path})


def wait_for(handle, done, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = handle.status()
        if status.errc.value() != 0:
            sys.exit(f"libtorrent error while {what}: {status.errc.message()}")
        if done(status):
            return
        time.sleep(0.05)
    s = handle.status()
    sys.exit(f"timed out {what}: state {s.state}, {s.progress * 100:.1f}% done, {s.num_peers} peers")


class Tracker(http.server.BaseHTTPRequestHandler):
    """Answers every announce with the one seeding peer (on LT_LISTEN's address)."""

    peer_port = 0

    def do_GET(self):
        peers = socket.inet_aton(os.environ.get("LT_LISTEN", "127.0.0.1")) + struct.pack(">H", self.peer_port)
        body = b"d8:intervali60e5:peers6:" + peers + b"e"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def seed(torrent, save_path):
    ses = session()
    handle = add(ses, torrent, save_path)
    # Checking the data proves libtorrent accepts our piece hashes.
    wait_for(handle, lambda s: s.is_seeding, 60, "checking the data to seed")
    Tracker.peer_port = ses.listen_port()
    tracker = http.server.HTTPServer(("127.0.0.1", 0), Tracker)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    print(f"READY {ses.listen_port()} {tracker.server_address[1]}", flush=True)
    sys.stdin.read()


def download(torrent, save_path, peer_port, timeout, mode="default"):
    ses = session(out_enc_policy=int(lt.enc_policy.disabled)) if mode == "plaintext" else session()
    handle = add(ses, torrent, save_path)
    host, _, port = peer_port.rpartition(":")
    handle.connect_peer((host or "127.0.0.1", int(port)))
    wait_for(handle, lambda s: s.is_seeding, float(timeout), "downloading")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"DONE {usage.ru_utime + usage.ru_stime:.2f}", flush=True)


def leech(source, save_path, timeout, count):
    sessions, handles = [], []
    for i in range(int(count)):
        ses = session()
        if source.startswith("magnet:"):
            params = lt.parse_magnet_uri(source)
        else:
            params = lt.add_torrent_params()
            params.ti = lt.torrent_info(source)
        params.save_path = f"{save_path}/{i}"
        sessions.append(ses)
        handles.append(ses.add_torrent(params))
    deadline = time.monotonic() + float(timeout)
    for i, handle in enumerate(handles):
        wait_for(handle, lambda s: s.is_seeding, max(deadline - time.monotonic(), 0.1), f"leecher {i} downloading")
    print("DONE", flush=True)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"check": check, "check2": check2, "create_padded_v1": create_padded_v1, "seed": seed, "download": download, "leech": leech}[command](*args)
